package tuner

import (
	"math"
	"slices"
)

// kernelCache keeps the kernel values the model needs for the current
// hyperparameters: among the fitted points, and between every grid point
// and the fitted points. Points are appended as they are measured, so
// each trial adds one row and one column instead of recomputing all.
type kernelCache struct {
	ls   [numDims]float64
	xs   []point
	data [][]float64 // lower triangle
	grid [][]float64 // grid[g][j]: grid point g against fitted point j
}

// update brings the cache to the length scales of h and fitted points xs,
// extending it when xs extends the cached points and they are unchanged.
func (c *kernelCache) update(h hyper, xs, grid []point) {
	if c.ls != h.ls || len(xs) < len(c.xs) || !slices.Equal(c.xs, xs[:len(c.xs)]) {
		c.ls, c.xs, c.data = h.ls, nil, nil
		c.grid = make([][]float64, len(grid))
	}
	for j := len(c.xs); j < len(xs); j++ {
		row := make([]float64, j+1)
		for i := range row {
			row[i] = h.kernel(xs[j], xs[i])
		}
		c.data = append(c.data, row)
		for g, p := range grid {
			c.grid[g] = append(c.grid[g], h.kernel(p, xs[j]))
		}
	}
	c.xs = append(c.xs[:0:0], xs...)
}

// chooseHyper returns the hyperparameters on the grid with the highest
// marginal likelihood for mean scores at xs, among noise levels of at
// least minNoise (minNoise itself is a candidate too).
func chooseHyper(xs []point, scores []float64, counts []int, minNoise float64) hyper {
	noises := []float64{minNoise}
	for _, nz := range noiseLevels {
		if nz > minNoise {
			noises = append(noises, nz)
		}
	}
	n := len(xs)
	// Squared distance per knob, for every pair.
	d2 := make([][][numDims]float64, n)
	for i := range d2 {
		d2[i] = make([][numDims]float64, i+1)
		for j := 0; j <= i; j++ {
			for d := range numDims {
				t := xs[i][d] - xs[j][d]
				d2[i][j][d] = t * t
			}
		}
	}
	best, bestLik := defaultHyper, math.Inf(-1)
	k := make([][]float64, n)
	for i := range k {
		k[i] = make([]float64, i+1)
	}
	for _, lh := range lengthScales {
		for _, ln := range lengthScales {
			for _, lio := range lengthScales {
				inv := [numDims]float64{1 / (lh * lh), 1 / (ln * ln), 1 / (lio * lio)}
				for i := range k {
					for j := range k[i] {
						p := d2[i][j]
						k[i][j] = matern52(p[0]*inv[0] + p[1]*inv[1] + p[2]*inv[2])
					}
				}
				for _, nz := range noises {
					h := hyper{ls: [numDims]float64{lh, ln, lio}, noise: nz}
					if g := newGP(h, k, scores, counts); g != nil && g.logLik > bestLik {
						best, bestLik = h, g.logLik
					}
				}
			}
		}
	}
	return best
}
