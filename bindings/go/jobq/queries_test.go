package jobq

// The query and maintenance calls in memory: Metrics, Explain, Search,
// ListRuns, SubmitBatch and Cleanup (the database versions are in
// store_test.go).

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func queriesScheduler(t *testing.T) *Scheduler {
	t.Helper()
	s := open(t, Options{Clock: &fakeClock{}})
	must(t, s.DefineJob(JobDef{Name: "nightly-etl", Namespace: "analytics",
		Request: res(t, map[string]string{"cpu": "2"})}))
	must(t, s.DefineJob(JobDef{Name: "adhoc-report", Namespace: "analytics",
		Priority: PriorityHigh}))
	must(t, s.DefineJob(JobDef{Name: "train", Namespace: "ml"}))
	return s
}

func submitNamed(t *testing.T, s *Scheduler, job, name string) RunID {
	t.Helper()
	id, err := s.Submit(job, &SubmitOptions{RunName: name})
	must(t, err)
	return id
}

func wantIDs(t *testing.T, what string, got []RunID, err error, want ...RunID) {
	t.Helper()
	must(t, err)
	if want == nil {
		want = []RunID{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

func TestMetrics(t *testing.T) {
	s := queriesScheduler(t)
	mustSubmit(t, s, "nightly-etl")
	mustSubmit(t, s, "nightly-etl")
	text, err := s.Metrics()
	must(t, err)
	for _, want := range []string{
		"# TYPE jobq_queue_length gauge\n",
		"\njobq_queue_length{namespace=\"analytics\",priority=\"normal\"} 2\n",
	} {
		if !strings.Contains(text, want) {
			t.Fatalf("metrics lack %q:\n%s", want, text)
		}
	}
	if !strings.HasPrefix(MetricsContentType, "text/plain; version=0.0.4") {
		t.Fatalf("content type %q", MetricsContentType)
	}
}

func TestExplainQueuedRun(t *testing.T) {
	s := queriesScheduler(t)
	first := submitNamed(t, s, "nightly-etl", "etl-1")
	second := submitNamed(t, s, "nightly-etl", "etl-2")
	e, err := s.Explain(second)
	must(t, err)
	if e.Run != second || e.State != RunQueued || e.Name != "etl-2" ||
		e.Job != "nightly-etl" || e.Namespace != "analytics" ||
		e.Priority != PriorityNormal || e.Flow != FlowPriority {
		t.Fatalf("explanation %+v", e)
	}
	if e.Queue == nil || *e.Queue != (QueuePlace{Position: 1, Length: 2, Ahead: 1}) {
		t.Fatalf("queue %+v", e.Queue)
	}
	if e.DeployedAt != -1 || e.EndedAt != -1 || e.Blocked != nil ||
		e.HeadTimeoutAt != -1 || e.EstimatedStart != -1 {
		t.Fatalf("explanation %+v", e)
	}
	// No database: no event log, and no estimate, with the reason why.
	if e.Events != nil || !strings.Contains(e.EstimateNote, "database") {
		t.Fatalf("events %v note %q", e.Events, e.EstimateNote)
	}
	var doc map[string]any
	must(t, json.Unmarshal(e.JSON, &doc))
	for _, key := range []string{"run", "state", "job", "namespace", "priority",
		"flow", "name", "submitted_at", "deployed_at", "ended_at", "queue",
		"blocked", "retries", "head_timeout_at", "estimated_start",
		"estimate_note"} {
		if _, ok := doc[key]; !ok {
			t.Errorf("no %q in %s", key, e.JSON)
		}
	}
	if e, err := s.Explain(first); err != nil || e.Queue.Position != 0 {
		t.Fatalf("first: %+v, %v", e, err)
	}
}

func TestExplainBlockedHeadAndUnknownRun(t *testing.T) {
	clock, log := &fakeClock{}, &eventLog{}
	c := newCluster(clock, map[string]map[string]string{"analytics": {"cpu": "1"}})
	s := open(t, withCluster(clock, c, log))
	must(t, s.DefineJob(JobDef{Name: "big", Namespace: "analytics",
		Request: res(t, map[string]string{"cpu": "2"})}))
	head, behind := mustSubmit(t, s, "big"), mustSubmit(t, s, "big")
	mustTick(t, s)
	e, err := s.Explain(behind)
	must(t, err)
	want := Blocked{Resource: "cpu", Requested: 2000, Available: 1000}
	if e.Blocked == nil || *e.Blocked != want || e.HeadRun != head {
		t.Fatalf("blocked %+v head %d", e.Blocked, e.HeadRun)
	}
	if _, err := s.Explain(12345); !errors.Is(err, ErrNotFound) ||
		!strings.Contains(err.Error(), "12345") {
		t.Fatalf("unknown run: %v", err)
	}
}

func TestSearch(t *testing.T) {
	s := queriesScheduler(t)
	etl := submitNamed(t, s, "nightly-etl", "Etl-2026-11-29")
	report := submitNamed(t, s, "adhoc-report", "q4 numbers")
	train := submitNamed(t, s, "train", "resnet-etl-features")
	// Run names and job names, case-insensitively, newest first.
	ids, err := s.Search("ETL", 0)
	wantIDs(t, "ETL", ids, err, train, etl)
	ids, err = s.Search("report", 0)
	wantIDs(t, "report", ids, err, report)
	ids, err = s.Search("et", 1)
	wantIDs(t, "et, 1", ids, err, train)
	ids, err = s.Search("no such thing", 0)
	wantIDs(t, "nothing", ids, err)
	if _, err := s.Search("", 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty text: %v", err)
	}
	if _, err := s.Search("etl", -1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative limit: %v", err)
	}
}

func TestListRuns(t *testing.T) {
	s := queriesScheduler(t)
	var ids []RunID
	for _, job := range []string{"nightly-etl", "adhoc-report", "train", "nightly-etl"} {
		ids = append(ids, mustSubmit(t, s, job))
	}
	must(t, s.Cancel(ids[3], "not today"))
	for _, tc := range []struct {
		name   string
		filter RunFilter
		want   []RunID
	}{
		{"all", RunFilter{}, ids},
		{"namespace", RunFilter{Namespace: "ml"}, ids[2:3]},
		{"namespace and priority", RunFilter{Namespace: "analytics",
			Priority: PriorityNormal}, []RunID{ids[0], ids[3]}},
		{"priority", RunFilter{Priority: PriorityHigh}, ids[1:2]},
		{"newest", RunFilter{Limit: 2}, ids[2:]},
		{"state", RunFilter{States: []RunState{RunCancelled}}, ids[3:]},
		{"queued", RunFilter{States: []RunState{RunQueued}}, ids[:3]},
		{"states", RunFilter{States: []RunState{RunQueued, RunCancelled},
			Limit: 2}, ids[2:]},
		{"nowhere", RunFilter{Namespace: "nowhere"}, nil},
	} {
		got, err := s.ListRuns(tc.filter)
		wantIDs(t, tc.name, got, err, tc.want...)
	}
	if _, err := s.ListRuns(RunFilter{Limit: -1}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative limit: %v", err)
	}
}

func TestSubmitBatch(t *testing.T) {
	s := queriesScheduler(t)
	big := res(t, map[string]string{"cpu": "4"})
	ids, err := s.SubmitBatch([]BatchRun{
		{Job: "nightly-etl"},
		{Job: "adhoc-report", SubmitOptions: SubmitOptions{RunName: "q4"}},
		{Job: "train", SubmitOptions: SubmitOptions{Priority: PriorityHigh,
			Request: &big}},
	})
	must(t, err)
	if len(ids) != 3 || ids[0] >= ids[1] || ids[1] >= ids[2] {
		t.Fatalf("ids %v", ids)
	}
	for i, job := range []string{"nightly-etl", "adhoc-report", "train"} {
		if got := mustRun(t, s, ids[i]).Job; got != job {
			t.Fatalf("run %d is of %s", i, got)
		}
	}
	if info := mustRun(t, s, ids[1]); info.RunName != "q4" {
		t.Fatalf("run name %q", info.RunName)
	}
	if info := mustRun(t, s, ids[2]); info.Priority != PriorityHigh ||
		info.Request.CPU != 4000 {
		t.Fatalf("third %+v", info)
	}
	none, err := s.SubmitBatch(nil)
	wantIDs(t, "empty batch", none, err)
}

func TestSubmitBatchPartialFailure(t *testing.T) {
	s := queriesScheduler(t)
	ids, err := s.SubmitBatch([]BatchRun{{Job: "nightly-etl"},
		{Job: "no-such-job"}, {Job: "train"}})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "runs[1]") {
		t.Fatalf("error %v", err)
	}
	// All or nothing (issue 8): the run before the failing one is not
	// submitted either.
	all, lerr := s.ListRuns(RunFilter{})
	if len(ids) != 0 {
		t.Fatalf("ids %v", ids)
	}
	wantIDs(t, "submitted", all, lerr, ids...)
	// Arguments are checked before anything is submitted.
	_, err = s.SubmitBatch([]BatchRun{{Job: "train"}, {Job: "bad\x00name"}})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "runs[1].Job") {
		t.Fatalf("NUL in a name: %v", err)
	}
	all, lerr = s.ListRuns(RunFilter{})
	wantIDs(t, "after refusal", all, lerr, ids...)
}

func TestCleanup(t *testing.T) {
	clock := &fakeClock{}
	c := newCluster(clock, map[string]map[string]string{"ns": {}})
	s := open(t, Options{Probe: c, Deployer: noPoll{c}, Clock: clock,
		Config: `{"services": {"jobOrchestrator": {"settings": {"jobRunCleanup":
			{"enabled": false, "retentionPeriod": 60}}}}}`})
	must(t, s.DefineJob(JobDef{Name: "job", Namespace: "ns"}))
	var ended []RunID
	for i := 0; i < 3; i++ {
		ended = append(ended, mustSubmit(t, s, "job"))
	}
	mustTick(t, s)
	for _, id := range ended {
		must(t, s.Report(id, RunFinished, ""))
	}
	queued := mustSubmit(t, s, "job")
	if n, err := s.Cleanup(0); err != nil || n != 0 {
		t.Fatalf("too early: %d, %v", n, err)
	}
	clock.advance(61)
	if n, err := s.Cleanup(1); err != nil || n != 1 {
		t.Fatalf("at most 1: %d, %v", n, err)
	}
	if n, err := s.Cleanup(0); err != nil || n != 2 {
		t.Fatalf("the rest: %d, %v", n, err)
	}
	for _, id := range ended {
		if _, err := s.Run(id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("run %d: %v", id, err)
		}
	}
	all, err := s.ListRuns(RunFilter{})
	wantIDs(t, "left", all, err, queued)
}
