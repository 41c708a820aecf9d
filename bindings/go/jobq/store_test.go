package jobq

// The SQLite store through the binding: DBPath, Durability, idempotency
// keys, state surviving Close and Open, and OpenReadOnly.

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const headTimeout = "job-orchestrator.queue.head-timeout-seconds"

func dbPath(t *testing.T) string {
	return filepath.Join(t.TempDir(), "jobq.db")
}

// openDB opens a scheduler on path with the given clock (closed at the end
// of the test; closing it earlier is fine).
func openDB(t *testing.T, path string, clock *fakeClock) *Scheduler {
	t.Helper()
	return open(t, Options{DBPath: path, Clock: clock})
}

func populate(t *testing.T, s *Scheduler) []RunID {
	t.Helper()
	must(t, s.DefineJob(JobDef{Name: "nightly-etl", Namespace: "analytics",
		Request: res(t, map[string]string{"cpu": "2"})}))
	must(t, s.DefineJob(JobDef{Name: "adhoc-report", Namespace: "analytics",
		Priority: PriorityHigh}))
	var ids []RunID
	for _, name := range []string{"etl-0", "etl-1", "etl-2"} {
		ids = append(ids, submitNamed(t, s, "nightly-etl", name))
	}
	return append(ids, submitNamed(t, s, "adhoc-report", "q4-numbers"))
}

func TestIdempotencyKey(t *testing.T) {
	path, clock := dbPath(t), &fakeClock{}
	s := openDB(t, path, clock)
	must(t, s.DefineJob(JobDef{Name: "nightly-etl", Namespace: "analytics"}))
	submit := func(s *Scheduler, key string) RunID {
		id, err := s.Submit("nightly-etl", &SubmitOptions{IdempotencyKey: key})
		must(t, err)
		return id
	}
	first := submit(s, "etl-2026-11-29")
	if again := submit(s, "etl-2026-11-29"); again != first {
		t.Fatalf("same key: %d then %d", first, again)
	}
	other := submit(s, "etl-2026-11-30")
	if other == first {
		t.Fatal("another key gave the same run")
	}
	must(t, s.Close())
	// The key is durable: a retry after a restart finds the same run.
	s = openDB(t, path, clock)
	if again := submit(s, "etl-2026-11-29"); again != first {
		t.Fatalf("after reopen: %d, want %d", again, first)
	}
	all, err := s.ListRuns(RunFilter{})
	wantIDs(t, "runs", all, err, first, other)
}

func TestQueuedRunsSurviveReopen(t *testing.T) {
	for _, durability := range []Durability{DurabilityFull, DurabilityNormal} {
		path, clock := dbPath(t), &fakeClock{}
		s := open(t, Options{DBPath: path, Clock: clock, Durability: durability})
		ids := populate(t, s)
		must(t, s.Close())

		s = open(t, Options{DBPath: path, Clock: clock, Durability: durability})
		queued, err := s.ListRuns(RunFilter{States: []RunState{RunQueued}})
		wantIDs(t, "queued", queued, err, ids...)
		for i, id := range ids[:3] {
			info := mustRun(t, s, id)
			if info.Position != int64(i) || info.RunName != "etl-"+string(rune('0'+i)) ||
				info.Request.CPU != 2000 {
				t.Fatalf("durability %d, run %d: %+v", durability, i, info)
			}
		}
		head := mustRun(t, s, ids[3])
		if head.Job != "adhoc-report" || head.Priority != PriorityHigh || head.Position != 0 {
			t.Fatalf("high head %+v", head)
		}
		// New runs continue after the old ones.
		if id := mustSubmit(t, s, "nightly-etl"); id <= ids[3] {
			t.Fatalf("new id %d after %v", id, ids)
		}
	}
}

func TestRuntimePropertySurvivesReopen(t *testing.T) {
	path, clock := dbPath(t), &fakeClock{}
	s := openDB(t, path, clock)
	must(t, s.SetProperty(headTimeout, 1234))
	must(t, s.Close())
	// The stored value wins over the systemProperties a host starts with.
	s = open(t, Options{DBPath: path, Clock: clock,
		Config: `{"systemProperties": {"` + headTimeout + `": 99}}`})
	got, err := s.GetProperty(headTimeout)
	must(t, err)
	if string(got) != "1234" {
		t.Fatalf("%s = %s", headTimeout, got)
	}
}

func TestExplainWithDatabase(t *testing.T) {
	s := openDB(t, dbPath(t), &fakeClock{})
	ids := populate(t, s)
	e, err := s.Explain(ids[1])
	must(t, err)
	if e.Run != ids[1] || e.State != RunQueued || e.Name != "etl-1" ||
		e.Queue == nil || *e.Queue != (QueuePlace{1, 3, 1}) {
		t.Fatalf("explanation %+v", e)
	}
	if len(e.Events) != 1 || e.Events[0].Event != "submitted" {
		t.Fatalf("events %+v", e.Events)
	}
	if !strings.Contains(string(e.JSON), `"events":[`) {
		t.Fatalf("document %s", e.JSON)
	}
}

func TestSearchWithDatabase(t *testing.T) {
	s := openDB(t, dbPath(t), &fakeClock{})
	ids := populate(t, s)
	// The trigram index (3 characters or more) and the LIKE scan (fewer).
	got, err := s.Search("ETL-", 0)
	wantIDs(t, "ETL-", got, err, ids[2], ids[1], ids[0])
	got, err = s.Search("numbers", 0)
	wantIDs(t, "numbers", got, err, ids[3])
	got, err = s.Search("q4", 0)
	wantIDs(t, "q4", got, err, ids[3])
	got, err = s.Search("adhoc", 0) // by job name
	wantIDs(t, "adhoc", got, err, ids[3])
	got, err = s.Search("etl", 2)
	wantIDs(t, "etl, 2", got, err, ids[2], ids[1])
}

func TestSubmitBatchWithDatabase(t *testing.T) {
	path, clock := dbPath(t), &fakeClock{}
	s := openDB(t, path, clock)
	must(t, s.DefineJob(JobDef{Name: "etl", Namespace: "analytics"}))
	key := func(k string) BatchRun {
		return BatchRun{Job: "etl", SubmitOptions: SubmitOptions{IdempotencyKey: k}}
	}
	ids, err := s.SubmitBatch([]BatchRun{key("a"), key("b")})
	must(t, err)
	again, err := s.SubmitBatch([]BatchRun{key("b")})
	wantIDs(t, "same key", again, err, ids[1])
	must(t, s.Close())
	s = openDB(t, path, clock)
	all, err := s.ListRuns(RunFilter{})
	wantIDs(t, "after reopen", all, err, ids...)
}

func TestCleanupWithDatabase(t *testing.T) {
	path, clock := dbPath(t), &fakeClock{}
	s := open(t, Options{DBPath: path, Clock: clock,
		Config: `{"services": {"jobOrchestrator": {"settings":
			{"jobRunCleanup": {"retentionPeriod": 60}}}}}`})
	must(t, s.DefineJob(JobDef{Name: "etl", Namespace: "analytics"}))
	var ended []RunID
	for i := 0; i < 3; i++ {
		ended = append(ended, mustSubmit(t, s, "etl"))
	}
	kept := mustSubmit(t, s, "etl")
	for _, id := range ended {
		must(t, s.Cancel(id, ""))
	}
	clock.advance(61)
	if n, err := s.Cleanup(2); err != nil || n != 2 {
		t.Fatalf("at most 2: %d, %v", n, err)
	}
	must(t, s.Close())
	s = openDB(t, path, clock)
	if n, err := s.Cleanup(0); err != nil || n != 1 {
		t.Fatalf("the rest: %d, %v", n, err)
	}
	all, err := s.ListRuns(RunFilter{})
	wantIDs(t, "left", all, err, kept)
}

func TestReadOnlySeesDataAndRefusesWrites(t *testing.T) {
	path, clock := dbPath(t), &fakeClock{}
	s := openDB(t, path, clock)
	ids := populate(t, s)
	must(t, s.SetProperty(headTimeout, 777))
	must(t, s.Close())

	ro, err := OpenReadOnly(path)
	must(t, err)
	if !ro.ReadOnly() || s.ReadOnly() {
		t.Fatal("ReadOnly()")
	}
	all, err := ro.ListRuns(RunFilter{})
	wantIDs(t, "list", all, err, ids...)
	if info := mustRun(t, ro, ids[2]); info.Position != 2 {
		t.Fatalf("position %d", info.Position)
	}
	found, err := ro.Search("q4", 0)
	wantIDs(t, "search", found, err, ids[3])
	if e, err := ro.Explain(ids[0]); err != nil || e.Queue.Position != 0 {
		t.Fatalf("explain %+v, %v", e, err)
	}
	if v, err := ro.GetProperty(headTimeout); err != nil || string(v) != "777" {
		t.Fatalf("property %s, %v", v, err)
	}
	if text, err := ro.Metrics(); err != nil || !strings.Contains(text, `priority="normal"} 3`) {
		t.Fatalf("metrics: %v\n%s", err, text)
	}
	writes := map[string]func() error{
		"Submit":      func() error { _, err := ro.Submit("nightly-etl", nil); return err },
		"SubmitBatch": func() error { _, err := ro.SubmitBatch([]BatchRun{{Job: "nightly-etl"}}); return err },
		"Cancel":      func() error { return ro.Cancel(ids[0], "") },
		"DefineJob":   func() error { return ro.DefineJob(JobDef{Name: "new", Namespace: "analytics"}) },
		"SetProperty": func() error { return ro.SetProperty(headTimeout, 1) },
		"Tick":        func() error { _, err := ro.Tick(); return err },
		"Cleanup":     func() error { _, err := ro.Cleanup(0); return err },
		"Migrate":     func() error { _, err := ro.MigrateToLegacy(); return err },
	}
	for name, write := range writes {
		if err := write(); !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "read-only") {
			t.Errorf("%s: %v", name, err)
		}
	}
	must(t, ro.Close())
	must(t, ro.Close()) // idempotent
	if _, err := ro.ListRuns(RunFilter{}); !errors.Is(err, ErrState) {
		t.Fatalf("after Close: %v", err)
	}

	// Nothing was written: a writer finds the state as it was.
	s = openDB(t, path, clock)
	queued, err := s.ListRuns(RunFilter{States: []RunState{RunQueued}})
	wantIDs(t, "after read-only", queued, err, ids...)
}

func TestReadOnlyNextToWriter(t *testing.T) {
	path, clock := dbPath(t), &fakeClock{}
	s := openDB(t, path, clock)
	ids := populate(t, s)
	// One writer at a time, but readers take no lock.
	if _, err := Open(Options{DBPath: path}); !errors.Is(err, ErrBusy) {
		t.Fatalf("second writer: %v", err)
	}
	ro, err := OpenReadOnly(path)
	must(t, err)
	all, err := ro.ListRuns(RunFilter{})
	wantIDs(t, "reader", all, err, ids...)
	must(t, ro.Close())
	more := mustSubmit(t, s, "nightly-etl")
	ro, err = OpenReadOnly(path)
	must(t, err)
	defer ro.Close()
	all, err = ro.ListRuns(RunFilter{})
	wantIDs(t, "reader after a submit", all, err, append(ids, more)...)
}

func TestOpenReadOnlyErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenReadOnly(filepath.Join(dir, "missing.db")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing file: %v", err)
	}
	notes := filepath.Join(dir, "notes.txt")
	must(t, os.WriteFile(notes, []byte(strings.Repeat("hello\n", 100)), 0o600))
	if _, err := OpenReadOnly(notes); !errors.Is(err, ErrInvalid) {
		t.Fatalf("not a database: %v", err)
	}
	if _, err := OpenReadOnly("bad\x00path"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("NUL in the path: %v", err)
	}
}
