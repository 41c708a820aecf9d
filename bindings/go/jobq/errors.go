package jobq

// Errors: every negative libjobq status becomes an *Error carrying the code
// and the library's message; errors.Is matches it against the sentinels
// below by code, so callers write errors.Is(err, jobq.ErrNotFound).

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import "fmt"

// Error is a failed libjobq call, or an argument the binding refused
// before calling (Code ErrInvalid's). Every error this package returns is
// an *Error or wraps one, so errors.As(err, &e) with e *Error always works.
type Error struct {
	Code    int    // negative JOBQ_E* status
	Message string // the library's sentence for this failure
	Err     error  // the Go error behind it, if any (json.Marshal's...)
}

func (e *Error) Error() string {
	return "jobq: " + e.Message
}

// Name is the symbolic name of the code, such as "JOBQ_ENOTFOUND".
func (e *Error) Name() string {
	return C.GoString(C.jobq_errname(C.int(e.Code)))
}

// Is makes errors.Is(err, ErrNotFound) true for any *Error with that code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Unwrap returns the Go error behind e, if any.
func (e *Error) Unwrap() error {
	return e.Err
}

func sentinel(code C.int) *Error {
	return &Error{Code: int(code), Message: C.GoString(C.jobq_strerror(code))}
}

// Sentinels for errors.Is, one per status code of include/jobq/errors.h.
var (
	ErrInvalid    = sentinel(C.JOBQ_EINVAL)
	ErrNoMemory   = sentinel(C.JOBQ_ENOMEM)
	ErrNotFound   = sentinel(C.JOBQ_ENOTFOUND)
	ErrExists     = sentinel(C.JOBQ_EEXISTS)
	ErrState      = sentinel(C.JOBQ_ESTATE)
	ErrRange      = sentinel(C.JOBQ_ERANGE)
	ErrParse      = sentinel(C.JOBQ_EPARSE)
	ErrIO         = sentinel(C.JOBQ_EIO)
	ErrVersion    = sentinel(C.JOBQ_EVERSION)
	ErrBusy       = sentinel(C.JOBQ_EBUSY)
	ErrUser       = sentinel(C.JOBQ_EUSER)
	ErrUnexpected = sentinel(C.JOBQ_ERROR)
)

// newError builds the error for status rc with message msg (the code's
// generic description when msg is empty).
func newError(rc C.int, msg string) error {
	if rc >= 0 {
		return nil
	}
	if msg == "" {
		msg = C.GoString(C.jobq_strerror(rc))
	}
	return &Error{Code: int(rc), Message: msg}
}

// CallbackPanic is returned by the call during which a Probe, Deployer,
// Clock or event function panicked. The panic was recovered inside the
// callback (it cannot unwind through C), the library was told the callback
// failed, and the call went on to completion before returning this.
type CallbackPanic struct {
	Callback string // "probe", "deploy", "cancel", "poll", "clock", "event"
	Value    any    // what was passed to panic
	Stack    []byte // the callback goroutine's stack at the panic
}

func (p *CallbackPanic) Error() string {
	return fmt.Sprintf("jobq: panic in %s callback: %v", p.Callback, p.Value)
}

// Unwrap exposes a panic value that is itself an error.
func (p *CallbackPanic) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

// Is makes errors.Is(p, ErrUser) true: the library saw a failed callback.
func (p *CallbackPanic) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == int(C.JOBQ_EUSER)
}

// As makes errors.As(p, &e) with e *Error work like for every other error
// of this package: e is an ErrUser-coded *Error wrapping p.
func (p *CallbackPanic) As(target any) bool {
	if t, ok := target.(**Error); ok {
		*t = &Error{Code: int(C.JOBQ_EUSER), Message: p.Error()[len("jobq: "):], Err: p}
		return true
	}
	return false
}
