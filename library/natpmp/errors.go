package natpmp

import (
	"errors"
	"fmt"
)

// ErrNoAnswer means the gateway never answered: it does not speak NAT-PMP,
// it is switched off in the router's settings, or it is not the router.
var ErrNoAnswer = errors.New("no NAT-PMP answer")

// ResultCode is the gateway's verdict on a request (RFC 6886 §3.5).
type ResultCode uint16

// Result codes.
const (
	Success            ResultCode = 0
	UnsupportedVersion ResultCode = 1
	NotAuthorized      ResultCode = 2 // refused: NAT-PMP is often disabled in the router's settings
	NetworkFailure     ResultCode = 3 // e.g. the router has no external address yet
	OutOfResources     ResultCode = 4 // no more mappings or ports
	UnsupportedOpcode  ResultCode = 5
)

func (r ResultCode) String() string {
	switch r {
	case Success:
		return "success"
	case UnsupportedVersion:
		return "unsupported version"
	case NotAuthorized:
		return "not authorized or refused"
	case NetworkFailure:
		return "network failure"
	case OutOfResources:
		return "out of resources"
	case UnsupportedOpcode:
		return "unsupported opcode"
	}
	return fmt.Sprintf("unknown result code %d", uint16(r))
}

// advice is what a person can do about a result code.
func (r ResultCode) advice() string {
	switch r {
	case UnsupportedVersion:
		return "the router speaks a newer protocol (PCP) but not NAT-PMP"
	case NotAuthorized:
		return "the router refuses port mappings: allow NAT-PMP in its settings, or forward the port by hand"
	case NetworkFailure:
		return "the router has no working internet connection or external address yet"
	case OutOfResources:
		return "the router has no mapping or port left"
	case UnsupportedOpcode:
		return "the router does not support this request"
	}
	return ""
}

// ResultError is a non-zero result code from the gateway. errors.Is
// matches it against a ResultCode: errors.Is(err, natpmp.NotAuthorized).
type ResultError struct {
	Opcode byte
	Code   ResultCode
}

func (e *ResultError) Error() string {
	msg := fmt.Sprintf("NAT-PMP result %d, %q", uint16(e.Code), e.Code.String())
	if a := e.Code.advice(); a != "" {
		msg += ": " + a
	}
	return msg
}

// Is makes errors.Is(err, code) true for the error's code.
func (e *ResultError) Is(target error) bool {
	c, ok := target.(ResultCode)
	return ok && c == e.Code
}

// Error makes a ResultCode usable as an errors.Is target.
func (r ResultCode) Error() string { return "natpmp: " + r.String() }
