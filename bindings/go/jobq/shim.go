// Package jobq is the Go binding of libjobq, the embeddable library that
// decides which batch job runs next on Kubernetes: per-namespace FIFO
// queues at two priorities, weighted round robin between them, and
// resource-aware admission of queue heads.
//
// Open a Scheduler with a Probe (namespace quotas), a Deployer (launches
// runs) and optionally a Clock and an event function, define jobs, submit
// runs, and call Tick periodically. A Scheduler may be used from several
// goroutines.
package jobq

// The C side of the binding is a small shim (shim.c, shim.h) around every
// library call. Why a shim rather than direct calls:
//
//   - The library keeps one last-error message per handle, not per thread:
//     two goroutines failing at once could read each other's message. The
//     shim holds a per-handle mutex across the call *and* the reading of
//     its message, in a single cgo call, so each caller gets its own.
//   - A callback calling back into the same handle must get ErrBusy, not a
//     deadlock. cgo runs a Go callback, and any cgo call it makes, on the
//     OS thread of the outer call, so a thread-local in the shim detects
//     the re-entry before any lock is taken. (jobq_errmsg itself would
//     block then: it takes the library lock this thread already holds.)
//   - Close must not free a handle another goroutine is using: it takes the
//     same mutex and marks the handle closed; later calls get ErrState.
//
// Go values never cross into C: the vtables' ctx is a cgo.Handle (an
// integer) that the exported trampolines of callbacks.go map back to the
// Go host.
//
// To bind a new library function: add one line to GOJOBQ_CALLS in shim.h,
// then a method in scheduler.go: call, msg := s.begin(), then
// s.finish(call, C.go_<name>(s.g, call, &msg[0], errCap, args...), msg).

/*
#cgo pkg-config: jobq
#include "shim.h"
*/
import "C"
