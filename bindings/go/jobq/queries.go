package jobq

// Queries over the runs: ListRuns, Search and Explain. They read only, so
// they also work on a scheduler opened with OpenReadOnly.

/*
#include "shim.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"sort"
	"unsafe"
)

// RunFilter selects runs for ListRuns. The zero value selects every run.
type RunFilter struct {
	Namespace string     // "" for any namespace
	Priority  Priority   // PriorityDefault for any priority
	States    []RunState // empty for any state
	Limit     int        // at most this many, the newest; 0 for no limit
}

// ListRuns returns the ids of the runs matching f, in ascending id
// (submission) order, terminal runs kept on disk included.
func (s *Scheduler) ListRuns(f RunFilter) ([]RunID, error) {
	if f.Limit < 0 {
		return nil, &Error{Code: int(C.JOBQ_EINVAL),
			Message: fmt.Sprintf("Limit must not be negative (%d)", f.Limit)}
	}
	var args cargs
	defer args.free()
	var c C.jobq_run_filter
	C.jobq_run_filter_init(&c, C.JOBQ_RUN_FILTER_VERSION)
	c.ns = args.optional("Namespace", f.Namespace)
	if args.err != nil {
		return nil, args.err
	}
	if f.Priority != PriorityDefault {
		priority, err := f.Priority.toC("RunFilter.Priority")
		if err != nil {
			return nil, err
		}
		c.priority = C.int(priority)
	}
	for i, state := range f.States {
		if err := state.check(fmt.Sprintf("RunFilter.States[%d]", i)); err != nil {
			return nil, err
		}
	}
	c.limit = C.size_t(f.Limit)
	if len(f.States) <= 1 {
		if len(f.States) == 1 {
			c.state = C.int(f.States[0])
		}
		return s.listRuns(&c)
	}
	// Several states: one query each, merged. The newest Limit runs of the
	// union are among the newest Limit of each query.
	seen := map[RunID]bool{}
	ids := []RunID{}
	for _, state := range f.States {
		c.state = C.int(state)
		some, err := s.listRuns(&c)
		if err != nil {
			return nil, err
		}
		for _, id := range some {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	if f.Limit > 0 && len(ids) > f.Limit {
		ids = ids[len(ids)-f.Limit:]
	}
	return ids, nil
}

func (s *Scheduler) listRuns(c *C.jobq_run_filter) ([]RunID, error) {
	var out *C.jobq_run_id
	var n C.size_t
	call, msg := s.begin()
	err := s.finish(call, C.go_jobq_run_list(s.g, call, &msg[0], errCap, &out, &n, c),
		msg)
	return takeIDs(out, n), err
}

// Search returns the ids of the runs whose run name or job name contains
// text (case-insensitively), newest first, at most limit (0: no limit).
// ErrInvalid for an empty text.
func (s *Scheduler) Search(text string, limit int) ([]RunID, error) {
	if limit < 0 {
		return nil, &Error{Code: int(C.JOBQ_EINVAL),
			Message: fmt.Sprintf("limit must not be negative (%d)", limit)}
	}
	var args cargs
	defer args.free()
	ctext := args.str("text", text)
	if args.err != nil {
		return nil, args.err
	}
	var out *C.jobq_run_id
	var n C.size_t
	call, msg := s.begin()
	err := s.finish(call, C.go_jobq_run_search(s.g, call, &msg[0], errCap, &out, &n,
		ctext, C.size_t(limit)), msg)
	return takeIDs(out, n), err
}

// takeIDs copies an id array the library allocated, and frees it.
func takeIDs(p *C.jobq_run_id, n C.size_t) []RunID {
	if p == nil {
		return []RunID{}
	}
	defer C.jobq_free(unsafe.Pointer(p))
	ids := make([]RunID, n)
	for i, id := range unsafe.Slice(p, int(n)) {
		ids[i] = RunID(id)
	}
	return ids
}

// Explanation says why a run is where it is (jobq_run_explain). Times are
// in ms, -1 when they have not happened (or there is none).
type Explanation struct {
	Run         RunID
	State       RunState
	Name        string // the run's name, "" if none
	Job         string
	Domain      string
	Namespace   string
	Priority    Priority
	Flow        Flow
	SubmittedAt int64
	DeployedAt  int64
	EndedAt     int64
	Reason      string // terminal runs: machine-readable
	Detail      string // terminal runs: for people
	// Queued runs: the place in the queue (0 = head); nil otherwise.
	Queue *QueuePlace
	// What stops the head of the run's queue (this run, or the head ahead
	// of it: HeadRun); nil when nothing does.
	Blocked       *Blocked
	HeadRun       RunID
	HeadTimeoutAt int64
	RetriesUsed   int // head-timeout retries
	RetriesLeft   int
	// The estimated start (-1 when there is none) and how it was derived;
	// EstimateNote says why there is none, or what it is worth.
	EstimatedStart int64
	EstimateBasis  string
	EstimateNote   string
	// The run's event log, oldest first (with a database only).
	Events []LoggedEvent
	// The whole document, as the library wrote it.
	JSON json.RawMessage
}

// QueuePlace is a queued run's place in its queue.
type QueuePlace struct {
	Position int64 // 0 = head
	Length   int64 // runs in the queue
	Ahead    int64 // runs ahead of this one
}

// LoggedEvent is one entry of a run's event log in an Explanation.
type LoggedEvent struct {
	Event     string // "submitted", "blocked", "deployed"...
	Time      int64
	Resource  string // blocked: the first insufficient dimension
	Requested int64  // blocked
	Available int64  // blocked
	WaitMs    int64  // deployed
	Retry     int
	Reason    string
	Detail    string
}

// The document's shape. Numbers are read as float64: the library writes
// doubles, and an integral one may come out in exponent notation.
type explainDoc struct {
	Run         float64  `json:"run"`
	State       string   `json:"state"`
	Name        string   `json:"name"`
	Job         string   `json:"job"`
	Domain      string   `json:"domain"`
	Namespace   string   `json:"namespace"`
	Priority    string   `json:"priority"`
	Flow        string   `json:"flow"`
	SubmittedAt *float64 `json:"submitted_at"`
	DeployedAt  *float64 `json:"deployed_at"`
	EndedAt     *float64 `json:"ended_at"`
	Reason      string   `json:"reason"`
	Detail      string   `json:"detail"`
	Queue       *struct {
		Position float64 `json:"position"`
		Length   float64 `json:"length"`
		Ahead    float64 `json:"ahead"`
	} `json:"queue"`
	Blocked *struct {
		Resource  string  `json:"resource"`
		Requested float64 `json:"requested"`
		Available float64 `json:"available"`
		Since     float64 `json:"since"`
		HeadRun   float64 `json:"head_run"`
	} `json:"blocked"`
	HeadTimeoutAt *float64 `json:"head_timeout_at"`
	Retries       struct {
		Used float64 `json:"used"`
		Left float64 `json:"left"`
	} `json:"retries"`
	EstimatedStart *struct {
		At    float64 `json:"at"`
		Basis string  `json:"basis"`
	} `json:"estimated_start"`
	EstimateNote string `json:"estimate_note"`
	Events       []struct {
		Event     string  `json:"event"`
		Time      float64 `json:"time"`
		Resource  string  `json:"resource"`
		Requested float64 `json:"requested"`
		Available float64 `json:"available"`
		WaitMs    float64 `json:"wait_ms"`
		Retry     float64 `json:"retry"`
		Reason    string  `json:"reason"`
		Detail    string  `json:"detail"`
	} `json:"events"`
}

func msOrNone(t *float64) int64 {
	if t == nil {
		return -1
	}
	return int64(*t)
}

// Explain says why run id is where it is: its queue position, what blocks
// its queue's head, retries, the head timeout, an estimated start and
// (with a database) its event log. ErrNotFound if there is no such run.
func (s *Scheduler) Explain(id RunID) (*Explanation, error) {
	var out *C.char
	call, msg := s.begin()
	if err := s.finish(call, C.go_jobq_run_explain(s.g, call, &msg[0], errCap, &out,
		C.jobq_run_id(id)), msg); err != nil {
		return nil, err
	}
	text := C.GoString(out)
	C.jobq_free(unsafe.Pointer(out))
	return parseExplanation([]byte(text))
}

func parseExplanation(text []byte) (*Explanation, error) {
	var d explainDoc
	if err := json.Unmarshal(text, &d); err != nil {
		return nil, &Error{Code: int(C.JOBQ_ERROR),
			Message: "explain: unexpected document: " + err.Error()}
	}
	e := &Explanation{
		Run: RunID(d.Run), State: runStateNamed(d.State), Name: d.Name,
		Job: d.Job, Domain: d.Domain, Namespace: d.Namespace,
		Priority: PriorityNormal, Flow: FlowPriority,
		SubmittedAt: msOrNone(d.SubmittedAt), DeployedAt: msOrNone(d.DeployedAt),
		EndedAt: msOrNone(d.EndedAt), Reason: d.Reason, Detail: d.Detail,
		HeadTimeoutAt: msOrNone(d.HeadTimeoutAt),
		RetriesUsed:   int(d.Retries.Used), RetriesLeft: int(d.Retries.Left),
		EstimatedStart: -1, EstimateNote: d.EstimateNote,
		JSON: json.RawMessage(text),
	}
	if d.Priority == "high" {
		e.Priority = PriorityHigh
	}
	if d.Flow == "legacy" {
		e.Flow = FlowLegacy
	}
	if q := d.Queue; q != nil {
		e.Queue = &QueuePlace{Position: int64(q.Position),
			Length: int64(q.Length), Ahead: int64(q.Ahead)}
	}
	if b := d.Blocked; b != nil {
		e.Blocked = &Blocked{Resource: b.Resource, Requested: int64(b.Requested),
			Available: int64(b.Available), Since: int64(b.Since)}
		e.HeadRun = RunID(b.HeadRun)
	}
	if est := d.EstimatedStart; est != nil {
		e.EstimatedStart, e.EstimateBasis = int64(est.At), est.Basis
	}
	for _, ev := range d.Events {
		e.Events = append(e.Events, LoggedEvent{Event: ev.Event,
			Time: int64(ev.Time), Resource: ev.Resource,
			Requested: int64(ev.Requested), Available: int64(ev.Available),
			WaitMs: int64(ev.WaitMs), Retry: int(ev.Retry), Reason: ev.Reason,
			Detail: ev.Detail})
	}
	return e, nil
}

// runStateNamed maps "queued"... to its RunState (-1 if unknown).
func runStateNamed(name string) RunState {
	for st := RunQueued; st <= RunCancelled; st++ {
		if st.String() == name {
			return st
		}
	}
	return -1
}
