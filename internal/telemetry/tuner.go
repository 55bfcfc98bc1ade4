package telemetry

// Tuner metrics (agent tune, default :9104).
const (
	// TunerTrials counts trials by result (TunerResult*).
	TunerTrials = "kafkatune_tuner_trials_total"
	// TunerBestScore is the score of the incumbent's latest measurement
	// (producer messages per second, penalized over the P99 target).
	TunerBestScore = "kafkatune_tuner_best_score"
	// TunerCurrentSetting is 1 for the setting the broker runs now,
	// labelled LabelHeapMB, LabelNetworkThreads and LabelIOThreads.
	TunerCurrentSetting = "kafkatune_tuner_current_setting_info"
	// TunerLastChange is the Unix time the tuner last changed the broker's
	// setting.
	TunerLastChange = "kafkatune_tuner_last_change_timestamp_seconds"
	// TunerTrialThroughput is the producer throughput the latest valid
	// trial measured, in messages per second.
	TunerTrialThroughput = "kafkatune_tuner_trial_throughput_messages_per_second"
	// TunerTrialP99 is the consumer P99 the latest valid trial measured,
	// in seconds.
	TunerTrialP99 = "kafkatune_tuner_trial_p99_latency_seconds"
	// TunerTrialScore is the latest trial's score.
	TunerTrialScore = "kafkatune_tuner_trial_score"
	// TunerRollbacks counts changes rolled back (P99 regression alerts).
	TunerRollbacks = "kafkatune_tuner_rollbacks_total"
)

// Labels of the tuner's setting info metric.
const (
	LabelHeapMB         = "heap_mb"
	LabelNetworkThreads = "network_threads"
	LabelIOThreads      = "io_threads"
)

// Values of LabelResult on TunerTrials.
const (
	// TunerResultKept: the trial's setting is the incumbent afterwards.
	TunerResultKept = "kept"
	// TunerResultNotKept: a valid trial of a setting that is not the
	// incumbent afterwards.
	TunerResultNotKept = "not_kept"
	// TunerResultFailed: the trial failed (apply, verify or measure).
	TunerResultFailed = "failed"
)
