package jobq

// time.Time and time.Duration views of the library's milliseconds. The C
// API counts Unix-epoch milliseconds (the default clock's, and any host
// Clock is expected to follow it) and uses -1 for "not yet"; the int64
// fields stay for code that wants the raw numbers, these helpers are the
// idiomatic face. A "not yet" time is the zero time.Time (IsZero).

import "time"

// Millis is t as the library's time: milliseconds since the Unix epoch.
func Millis(t time.Time) int64 {
	return t.UnixMilli()
}

// TimeOf is the library's time ms as a time.Time (local zone); the zero
// Time for a negative ms ("not yet", "none").
func TimeOf(ms int64) time.Time {
	if ms < 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// DurationOf is a library duration in ms as a time.Duration.
func DurationOf(ms int64) time.Duration {
	return time.Duration(ms) * time.Millisecond
}

// ClockOf adapts a time source (time.Now, a fake's Now) to Clock.
func ClockOf(now func() time.Time) Clock {
	return ClockFunc(func() int64 { return now().UnixMilli() })
}

// TickTime is TickAt(Millis(now)).
func (s *Scheduler) TickTime(now time.Time) (TickStats, error) {
	return s.TickAt(Millis(now))
}

// NextDeadlineTime is NextDeadline as a time; the zero Time when nothing
// is due.
func (s *Scheduler) NextDeadlineTime() (time.Time, error) {
	ms, err := s.NextDeadline()
	if err != nil || ms == NoDeadline {
		return time.Time{}, err
	}
	return TimeOf(ms), nil
}

// Submitted is SubmittedAt as a time.
func (r RunInfo) Submitted() time.Time { return TimeOf(r.SubmittedAt) }

// Deployed is DeployedAt as a time (zero: not deployed yet).
func (r RunInfo) Deployed() time.Time { return TimeOf(r.DeployedAt) }

// Ended is EndedAt as a time (zero: not ended).
func (r RunInfo) Ended() time.Time { return TimeOf(r.EndedAt) }

// HeadTimeout is HeadTimeoutAt as a time (zero: none pending).
func (r RunInfo) HeadTimeout() time.Time { return TimeOf(r.HeadTimeoutAt) }

// SinceTime is Since as a time.
func (b Blocked) SinceTime() time.Time { return TimeOf(b.Since) }

// At is the event's Time as a time.
func (e Event) At() time.Time { return TimeOf(e.Time) }

// Wait is a deployed event's WaitMs as a duration.
func (e Event) Wait() time.Duration { return DurationOf(e.WaitMs) }

// EstimatedStartTime is EstimatedStart as a time (zero: no estimate).
func (e *Explanation) EstimatedStartTime() time.Time { return TimeOf(e.EstimatedStart) }
