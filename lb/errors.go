package lb

import (
	"errors"
	"fmt"
)

// Errors returned by the constructors and by Set.Update. The hot path (Pick, Allow,
// Acquire) never returns an error: "no target" is a nil *Target, "refused" is false.
var (
	// ErrNoTarget is what a caller reports when Pick returned nil: every member is
	// excluded, draining or (outside panic mode) unhealthy, ejected or breaker-open.
	ErrNoTarget = errors.New("lb: no target available")
	// ErrBadWeight: a weight outside [MinWeight, MaxWeight].
	ErrBadWeight = errors.New("lb: weight out of range")
	// ErrBadAddress: an empty target address.
	ErrBadAddress = errors.New("lb: empty target address")
	// ErrDuplicateTarget: the same *Target or the same address twice in one Update.
	ErrDuplicateTarget = errors.New("lb: duplicate target")
	// ErrNilTarget: a nil *Target in Update.
	ErrNilTarget = errors.New("lb: nil target")
	// ErrTooManyTargets: more than MaxTargets members.
	ErrTooManyTargets = errors.New("lb: too many targets")
	// ErrForeignTarget: a Target already belongs to another Set. A Target's in-flight
	// counter feeds exactly one Set's total, so it cannot be shared.
	ErrForeignTarget = errors.New("lb: target belongs to another set")
	// ErrTargetAttached: a Target's breaker can only be set before it joins a Set.
	ErrTargetAttached = errors.New("lb: target already attached to a set")
	// ErrRingTooLarge: VNodes times the summed weights exceeds MaxRingPoints.
	ErrRingTooLarge = errors.New("lb: ring too large")
	// ErrBadConfig wraps every invalid configuration value; the message names it.
	ErrBadConfig = errors.New("lb: invalid config")
)

var errNilSet = fmt.Errorf("%w: nil Set", ErrBadConfig)
