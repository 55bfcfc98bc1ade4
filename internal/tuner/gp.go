package tuner

import (
	"math"
)

// point is a setting mapped to the unit cube: each knob's log value
// scaled to [0, 1] over its bounds, so that doubling a knob is the same
// distance anywhere in its range.
type point [numDims]float64

const (
	dimHeap = iota
	dimNetwork
	dimIO
	numDims
)

// hyper are the GP's hyperparameters: a length scale per knob (unit-cube
// units) and the noise variance of one measurement relative to the
// variance of the scores.
type hyper struct {
	ls    [numDims]float64
	noise float64
}

// defaultHyper is used until there are enough points to choose.
var defaultHyper = hyper{ls: [numDims]float64{0.4, 0.4, 0.4}, noise: 0.1}

// Hyperparameter grid searched by maximum marginal likelihood.
var (
	lengthScales = []float64{0.12, 0.25, 0.5, 1.0, 2.0}
	noiseLevels  = []float64{0.01, 0.03, 0.1, 0.3, 1, 3}
)

// kernel is the Matérn 5/2 covariance of two points.
func (h hyper) kernel(a, b point) float64 {
	var r2 float64
	for d := range a {
		t := (a[d] - b[d]) / h.ls[d]
		r2 += t * t
	}
	return matern52(r2)
}

func matern52(r2 float64) float64 {
	r := math.Sqrt(5 * r2)
	return (1 + r + r*r/3) * math.Exp(-r)
}

// gp is a Gaussian-process regression of standardized mean scores, with
// noise variance noise/k for a point measured k times.
type gp struct {
	h      hyper
	k      [][]float64 // kernel among the points, lower triangle
	counts []int
	y      []float64 // standardized mean scores
	mean   float64   // score units
	scale  float64   // score units per standardized unit
	chol   [][]float64
	alpha  []float64 // (K + noise)^-1 y
	logLik float64
	// lambdaMax bounds the largest eigenvalue of K + noise from above
	// (Gershgorin), for a cheap upper bound of the predictive variance.
	lambdaMax float64
}

// newGP fits a GP with hyperparameters h to mean scores at points whose
// kernel matrix (lower triangle) is k. It returns nil if the matrix is not
// positive definite.
func newGP(h hyper, k [][]float64, scores []float64, counts []int) *gp {
	mean, sd := meanSD(scores)
	y := make([]float64, len(scores))
	for i, v := range scores {
		y[i] = (v - mean) / sd
	}
	g := &gp{h: h, k: k, counts: counts, y: y, mean: mean, scale: sd}
	if !g.factor() {
		return nil
	}
	return g
}

func meanSD(v []float64) (mean, sd float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		sd += (x - mean) * (x - mean)
	}
	sd = math.Sqrt(sd / float64(len(v)))
	if !(sd > 1e-9*max(1, math.Abs(mean))) {
		sd = max(1, math.Abs(mean))
	}
	return mean, sd
}

// factor computes the Cholesky factor of K + noise, alpha and the log
// marginal likelihood; it returns false if the matrix is not positive
// definite.
func (g *gp) factor() bool {
	n := len(g.y)
	l := make([][]float64, n)
	for i := range l {
		l[i] = make([]float64, i+1)
		for j := 0; j <= i; j++ {
			s := g.k[i][j]
			if i == j {
				s += g.h.noise/float64(g.counts[i]) + 1e-9
			}
			for k := range j {
				s -= l[i][k] * l[j][k]
			}
			if i == j {
				if s <= 0 {
					return false
				}
				l[i][i] = math.Sqrt(s)
			} else {
				l[i][j] = s / l[j][j]
			}
		}
	}
	g.chol = l
	g.alpha = backSolve(l, forwardSolve(l, g.y))
	g.lambdaMax = 0
	for i := range n {
		sum := g.h.noise / float64(g.counts[i])
		for j := range n {
			sum += g.k[max(i, j)][min(i, j)]
		}
		g.lambdaMax = max(g.lambdaMax, sum)
	}
	g.logLik = 0
	for i := range n {
		g.logLik -= 0.5*g.y[i]*g.alpha[i] + math.Log(l[i][i])
	}
	return true
}

// forwardSolve solves L v = b.
func forwardSolve(l [][]float64, b []float64) []float64 {
	v := make([]float64, len(b))
	for i := range b {
		s := b[i]
		row := l[i]
		for k := range i {
			s -= row[k] * v[k]
		}
		v[i] = s / row[i]
	}
	return v
}

// backSolve solves L^T x = v.
func backSolve(l [][]float64, v []float64) []float64 {
	x := make([]float64, len(v))
	for i := len(v) - 1; i >= 0; i-- {
		s := v[i]
		for k := i + 1; k < len(v); k++ {
			s -= l[k][i] * x[k]
		}
		x[i] = s / l[i][i]
	}
	return x
}

// predictMean returns the predictive mean (score units) at a point whose
// kernel values against the fitted points are ks.
func (g *gp) predictMean(ks []float64) float64 {
	var m float64
	for i, kv := range ks {
		m += kv * g.alpha[i]
	}
	return g.mean + g.scale*m
}

// predict returns the predictive mean and variance (score units) of the
// noise-free score at a point whose kernel values against the fitted
// points are ks, and L^-1 ks for covariances.
func (g *gp) predict(ks []float64) (mean, variance float64, v []float64) {
	v = forwardSolve(g.chol, ks)
	variance = 1
	for _, t := range v {
		variance -= t * t
	}
	return g.predictMean(ks), g.scale * g.scale * max(variance, 1e-12), v
}

// varianceBound returns an upper bound of the predictive variance (score
// units) at a point whose kernel values are ks, without solving. More data
// never increases the variance, so conditioning on any one fitted point j
// alone bounds it: 1 - k_j^2 / (1 + noise_j). So does the whole data
// through the largest eigenvalue: ks'(K+N)^-1 ks >= |ks|^2 / lambdaMax.
func (g *gp) varianceBound(ks []float64) float64 {
	var kk, maxReduce float64
	for j, v := range ks {
		kk += v * v
		maxReduce = max(maxReduce, v*v/(1+g.h.noise/float64(g.counts[j])))
	}
	return g.scale * g.scale * max(1-max(kk/g.lambdaMax, maxReduce), 1e-12)
}

// row returns the kernel values of fitted point i against all of them.
func (g *gp) row(i int) []float64 {
	r := make([]float64, len(g.k))
	for j := range r {
		if j <= i {
			r[j] = g.k[i][j]
		} else {
			r[j] = g.k[j][i]
		}
	}
	return r
}

// diff returns the predictive mean and standard deviation of
// score(a) - score(b) for fitted points a and b, taking their posterior
// covariance into account.
func (g *gp) diff(a, b int) (mean, sd float64) {
	ma, va, wa := g.predict(g.row(a))
	mb, vb, wb := g.predict(g.row(b))
	cov := 1.0
	if a != b {
		cov = g.k[max(a, b)][min(a, b)]
	}
	for i := range wa {
		cov -= wa[i] * wb[i]
	}
	cov *= g.scale * g.scale
	return ma - mb, math.Sqrt(max(va+vb-2*cov, 0))
}

// expectedImprovement of a predicted N(mean, variance) over best, less a
// margin xi (score units).
func expectedImprovement(mean, variance, best, xi float64) float64 {
	sd := math.Sqrt(variance)
	z := (mean - best - xi) / sd
	return (mean-best-xi)*normCDF(z) + sd*normPDF(z)
}

func normCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }
func normPDF(z float64) float64 { return math.Exp(-z*z/2) / math.Sqrt(2*math.Pi) }
