package jobq

// Client: operate a running scheduler from another process (live control,
// include/jobq/client.h). A Client is a handle from jobq_open_client on the
// database file a scheduling process runs on. Its mutating methods write a
// request to the database; the scheduling process applies it at its next
// cycle and the method returns the outcome as the Scheduler method would
// (the run id, the error with its code and message). Its reads read the
// database. Whoever can write the database file controls the scheduler.
//
// This file calls the library directly (not through shim.c): a client
// handle has no callbacks, so the only shim duty left, reading a failed
// call's message under the same lock as the call, is done with c.mu.

/*
#include <stdlib.h>
#include "jobq/jobq.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"
	"unsafe"
)

// ErrTimedOut: no scheduler applied the request within the wait timeout.
// The request stays queued and will be applied; LastRequest names it.
var ErrTimedOut = sentinel(C.JOBQ_ETIMEDOUT)

// ClientOptions configure OpenClient.
type ClientOptions struct {
	// How long a mutating call waits for its outcome: 0 means the default
	// (60 s), negative means no limit. NoWait only enqueues.
	WaitTimeout time.Duration
	NoWait      bool
	Durability  Durability
	// How long a write waits for the scheduler's transaction; 0: 5 s.
	BusyTimeout time.Duration
}

// Client is safe for concurrent use; calls are serialised.
type Client struct {
	mu sync.Mutex
	h  *C.jobq_scheduler
}

// OpenClient opens a client handle on the database at path, which a
// scheduling process created (ErrNotFound if there is no such file).
func OpenClient(path string, opts ClientOptions) (*Client, error) {
	var copts C.jobq_client_opts
	C.jobq_client_opts_init(&copts, C.JOBQ_CLIENT_OPTS_VERSION)
	copts.durability = C.jobq_durability(opts.Durability)
	switch {
	case opts.NoWait:
		copts.wait_timeout_ms = 0
	case opts.WaitTimeout < 0:
		copts.wait_timeout_ms = C.JOBQ_WAIT_FOREVER
	case opts.WaitTimeout > 0:
		copts.wait_timeout_ms = C.int64_t(opts.WaitTimeout.Milliseconds())
	}
	copts.busy_timeout_ms = C.int(opts.BusyTimeout.Milliseconds())
	var args cargs
	defer args.free()
	cpath := args.str("path", path)
	if args.err != nil {
		return nil, args.err
	}
	var h *C.jobq_scheduler
	var msg [errCap]C.char
	if rc := C.jobq_open_client(&h, cpath, &copts, &msg[0], errCap); rc < 0 {
		return nil, newError(rc, C.GoString(&msg[0]))
	}
	return &Client{h: h}, nil
}

// Close frees the handle; later calls fail with ErrState.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h != nil {
		C.jobq_close(c.h)
		c.h = nil
	}
	return nil
}

// call runs fn on the handle with the lock held, and turns its status
// into an error carrying the handle's message.
func (c *Client) call(fn func(h *C.jobq_scheduler) C.int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h == nil {
		return &Error{Code: int(C.JOBQ_ESTATE), Message: "the client is closed"}
	}
	rc := fn(c.h)
	if rc >= 0 {
		return nil
	}
	var msg [errCap]C.char
	C.jobq_errmsg(c.h, &msg[0], errCap)
	return newError(rc, C.GoString(&msg[0]))
}

// Submit asks the scheduler to submit a run of job; returns its id (0
// with NoWait). opts may be nil.
func (c *Client) Submit(job string, opts *SubmitOptions) (RunID, error) {
	var args cargs
	defer args.free()
	var copts C.jobq_submit_opts
	args.submitOpts(&copts, opts, "")
	cjob := args.str("job", job)
	if args.err != nil {
		return 0, args.err
	}
	var id C.jobq_run_id
	err := c.call(func(h *C.jobq_scheduler) C.int {
		return C.jobq_run_submit(h, &id, cjob, &copts)
	})
	return RunID(id), err
}

// SubmitBatch asks for several runs in one request (one transaction on
// the scheduler's side); the ids of the runs submitted, in order.
func (c *Client) SubmitBatch(runs []BatchRun) ([]RunID, error) {
	var args cargs
	defer args.free()
	n := len(runs)
	// Go memory holding only C pointers may be passed to C.
	jobs := make([]*C.char, n+1)
	opts := make([]C.jobq_submit_opts, n+1)
	out := make([]C.jobq_run_id, n+1)
	for i := range runs {
		what := fmt.Sprintf("runs[%d].", i)
		args.submitOpts(&opts[i], &runs[i].SubmitOptions, what)
		jobs[i] = args.str(what+"Job", runs[i].Job)
	}
	if args.err != nil {
		return nil, args.err
	}
	err := c.call(func(h *C.jobq_scheduler) C.int {
		return C.jobq_run_submit_batch(h, &out[0], &jobs[0], &opts[0], C.size_t(n))
	})
	ids := make([]RunID, 0, n)
	for _, id := range out[:n] {
		if id == 0 {
			break
		}
		ids = append(ids, RunID(id))
	}
	return ids, err
}

// Cancel asks the scheduler to cancel a queued or running run.
func (c *Client) Cancel(id RunID, detail string) error {
	var args cargs
	defer args.free()
	cdetail := args.optional("detail", detail)
	if args.err != nil {
		return args.err
	}
	return c.call(func(h *C.jobq_scheduler) C.int {
		return C.jobq_run_cancel(h, C.jobq_run_id(id), cdetail)
	})
}

// SetProperty asks the scheduler to set a property (value as JSON).
func (c *Client) SetProperty(key string, value any) error {
	text, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("jobq: property %s: %w", key, err)
	}
	var args cargs
	defer args.free()
	ckey, cvalue := args.str("key", key), args.str("value", string(text))
	if args.err != nil {
		return args.err
	}
	return c.call(func(h *C.jobq_scheduler) C.int {
		return C.jobq_property_set(h, ckey, cvalue)
	})
}

// GetProperty reads a property's value (JSON) from the database.
func (c *Client) GetProperty(key string) (json.RawMessage, error) {
	var args cargs
	defer args.free()
	ckey := args.str("key", key)
	if args.err != nil {
		return nil, args.err
	}
	var buf [4096]C.char
	err := c.call(func(h *C.jobq_scheduler) C.int {
		return C.jobq_property_get(h, ckey, &buf[0], C.size_t(len(buf)))
	})
	if err != nil {
		return nil, err
	}
	return json.RawMessage(C.GoString(&buf[0])), nil
}

// Configure asks the scheduler to apply a configuration document.
func (c *Client) Configure(document string) error {
	var args cargs
	defer args.free()
	cdoc := args.str("document", document)
	if args.err != nil {
		return args.err
	}
	return c.call(func(h *C.jobq_scheduler) C.int {
		return C.jobq_configure(h, cdoc)
	})
}

// MigrateToLegacy asks the scheduler to migrate every job to the legacy
// flow; returns how many queued runs moved.
func (c *Client) MigrateToLegacy() (uint64, error) {
	var moved C.uint64_t
	err := c.call(func(h *C.jobq_scheduler) C.int {
		return C.jobq_migrate_to_legacy(h, &moved)
	})
	return uint64(moved), err
}

// Run reads a run from the database.
func (c *Client) Run(id RunID) (RunInfo, error) {
	var info C.jobq_run_info
	C.jobq_run_info_init(&info, C.JOBQ_RUN_INFO_VERSION)
	err := c.call(func(h *C.jobq_scheduler) C.int {
		return C.jobq_run_get(h, &info, C.jobq_run_id(id))
	})
	if err != nil {
		return RunInfo{}, err
	}
	return runInfoFromC(&info), nil
}

// Request is one request and its outcome.
type Request struct {
	ID        int64
	Kind      string // "submit", "submit_batch", "cancel", ...
	State     string // "pending", "applied", "refused"
	CreatedAt int64  // the requester's wall clock, Unix ms
	AppliedAt int64  // the scheduler's clock; -1 while pending
	Err       error  // the outcome: nil, or the error the call returned
	Run       RunID  // submit, cancel: the run; batch: the first
	Count     uint64 // batch: runs submitted; migrate: runs moved
	Summary   string
}

func requestFromC(r *C.jobq_request_info) Request {
	out := Request{ID: int64(r.id),
		Kind:      C.GoString(C.jobq_request_kind_name(r.kind)),
		State:     C.GoString(C.jobq_request_state_name(r.state)),
		CreatedAt: int64(r.created_at), AppliedAt: int64(r.applied_at),
		Run: RunID(r.run_id), Count: uint64(r.count),
		Summary: C.GoString(&r.summary[0])}
	if r.status < 0 {
		out.Err = newError(r.status, C.GoString(&r.message[0]))
	}
	return out
}

// LastRequest is the id of the request the last mutating call wrote.
func (c *Client) LastRequest() (int64, error) {
	var id C.jobq_request_id
	err := c.call(func(h *C.jobq_scheduler) C.int {
		return C.jobq_request_last(h, &id)
	})
	return int64(id), err
}

// Request looks a request up; ErrNotFound if there is none with that id.
func (c *Client) Request(id int64) (Request, error) {
	var info C.jobq_request_info
	C.jobq_request_info_init(&info, C.JOBQ_REQUEST_INFO_VERSION)
	err := c.call(func(h *C.jobq_scheduler) C.int {
		return C.jobq_request_get(h, &info, C.jobq_request_id(id))
	})
	return requestFromC(&info), err
}

// Wait waits up to timeout (negative: no limit) for the request's outcome;
// ErrTimedOut if it is still pending.
func (c *Client) Wait(id int64, timeout time.Duration) (Request, error) {
	var info C.jobq_request_info
	C.jobq_request_info_init(&info, C.JOBQ_REQUEST_INFO_VERSION)
	ms := C.int64_t(timeout.Milliseconds())
	if timeout < 0 {
		ms = C.JOBQ_WAIT_FOREVER
	}
	err := c.call(func(h *C.jobq_scheduler) C.int {
		return C.jobq_request_wait(h, &info, C.jobq_request_id(id), ms)
	})
	return requestFromC(&info), err
}

// Requests lists the pending requests and the recent newest others (0:
// all), oldest first.
func (c *Client) Requests(recent int) ([]Request, error) {
	var ids *C.jobq_request_id
	var n C.size_t
	err := c.call(func(h *C.jobq_scheduler) C.int {
		return C.jobq_request_list(h, &ids, &n, C.size_t(recent))
	})
	if err != nil {
		return nil, err
	}
	defer C.jobq_free(unsafe.Pointer(ids))
	list := make([]Request, 0, int(n))
	for _, id := range unsafe.Slice(ids, int(n)) {
		r, err := c.Request(int64(id))
		if err != nil {
			return nil, err
		}
		list = append(list, r)
	}
	return list, nil
}
