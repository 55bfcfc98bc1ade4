package webhook

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafkatune/kafkatune/internal/rollback"
)

// Metric names of the webhook, served with the agent's other metrics.
const (
	// MetricNotifications counts valid notifications, by status (firing,
	// resolved) and result (rolled_back, ignored, error).
	MetricNotifications = "kafkatune_agent_webhook_notifications_total"
	// MetricRejected counts requests refused before they reached the
	// keeper, by reason (method, unauthorized, too_large, invalid).
	MetricRejected = "kafkatune_agent_webhook_rejected_total"
)

// Labels of the webhook metrics.
const (
	LabelStatus = "status"
	LabelResult = "result"
	LabelReason = "reason"
)

// Reasons for rejecting a request.
const (
	rejectMethod       = "method"
	rejectUnauthorized = "unauthorized"
	rejectTooLarge     = "too_large"
	rejectInvalid      = "invalid"
)

type metrics struct {
	notifications *prometheus.CounterVec
	rejected      *prometheus.CounterVec
}

// newMetrics creates the webhook's metrics, every series at zero, and
// registers them on reg unless reg is nil.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricNotifications,
			Help: "Alertmanager notifications received, by status and result.",
		}, []string{LabelStatus, LabelResult}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricRejected,
			Help: "Webhook requests rejected, by reason.",
		}, []string{LabelReason}),
	}
	for _, s := range []string{StatusFiring, StatusResolved} {
		for _, r := range []rollback.Action{
			rollback.ActionRolledBack, rollback.ActionIgnored, rollback.ActionError,
		} {
			m.notifications.WithLabelValues(s, string(r))
		}
	}
	for _, r := range []string{rejectMethod, rejectUnauthorized, rejectTooLarge, rejectInvalid} {
		m.rejected.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.notifications, m.rejected} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register webhook metrics: %w", err)
		}
	}
	return m, nil
}
