package webhook

import (
	"errors"
	"fmt"
	"time"
)

// Version is the Alertmanager webhook payload version this package reads.
const Version = "4"

// Alert and notification statuses.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// LabelAlertName is the label that names an alert.
const LabelAlertName = "alertname"

// Message is an Alertmanager webhook notification (payload version 4):
// one group of alerts. Fields kafkatune does not use are kept for logs;
// unknown fields are accepted, as later Alertmanager versions add some.
type Message struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []Alert           `json:"alerts"`
}

// Alert is one alert of a Message.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// Name returns the alert's alertname label.
func (a Alert) Name() string { return a.Labels[LabelAlertName] }

// Validate reports the first thing that makes m unusable: a version other
// than Version, a missing or unknown status, no alerts, or an alert
// without status, alertname, start time or fingerprint.
func (m Message) Validate() error {
	switch {
	case m.Version == "":
		return errors.New("version missing")
	case m.Version != Version:
		return fmt.Errorf("version %q: want %q", m.Version, Version)
	}
	if err := checkStatus(m.Status); err != nil {
		return err
	}
	if len(m.Alerts) == 0 {
		return errors.New("alerts missing or empty")
	}
	for i, a := range m.Alerts {
		if err := a.validate(); err != nil {
			return fmt.Errorf("alerts[%d]: %w", i, err)
		}
	}
	return nil
}

func (a Alert) validate() error {
	if err := checkStatus(a.Status); err != nil {
		return err
	}
	switch {
	case a.Name() == "":
		return errors.New("labels.alertname missing")
	case a.StartsAt.IsZero():
		return errors.New("startsAt missing")
	case a.Fingerprint == "":
		return errors.New("fingerprint missing")
	}
	return nil
}

func checkStatus(s string) error {
	switch s {
	case StatusFiring, StatusResolved:
		return nil
	case "":
		return errors.New("status missing")
	}
	return fmt.Errorf("status %q: want %s or %s", s, StatusFiring, StatusResolved)
}
