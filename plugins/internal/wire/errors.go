package wire

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sbxdev/sbx/core"
	pb "github.com/sbxdev/sbx/plugins/proto/backendv1"
)

// classes maps each core error class to its wire name and gRPC code.
var classes = []struct {
	err  error
	name string
	code codes.Code
}{
	{core.ErrInvalidPolicy, "invalid-policy", codes.InvalidArgument},
	{core.ErrNotEnforced, "not-enforced", codes.FailedPrecondition},
	{core.ErrSetupRequired, "setup-required", codes.FailedPrecondition},
	{core.ErrUnavailable, "unavailable", codes.FailedPrecondition},
	{core.ErrUnsupported, "unsupported", codes.Unimplemented},
	{core.ErrBackendExited, "backend-exited", codes.Internal},
	{core.ErrNotFound, "not-found", codes.NotFound},
	{core.ErrPermission, "permission", codes.PermissionDenied},
	{core.ErrCanceled, "canceled", codes.Canceled},
	{core.ErrProtocol, "protocol", codes.FailedPrecondition},
}

// ToStatus turns err into a gRPC status error that carries its class and,
// for *core.PolicyError and *core.NotEnforcedError, their details. It is
// what a plugin returns.
func ToStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok && core.Classify(err) == nil {
		return err
	}
	d := &pb.ErrorDetail{}
	code := codes.Unknown
	for _, c := range classes {
		if errors.Is(err, c.err) {
			d.Class, code = c.name, c.code
			break
		}
	}
	if d.Class == "" && errors.Is(err, context.Canceled) {
		d.Class, code = "canceled", codes.Canceled
	}
	var pe *core.PolicyError
	if errors.As(err, &pe) {
		for _, p := range pe.Problems {
			d.Problems = append(d.Problems, &pb.Problem{Field: p.Field, Value: p.Value, Reason: p.Reason})
		}
	}
	var ne *core.NotEnforcedError
	if errors.As(err, &ne) {
		d.Elements = ElementsToProto(ne.Elements)
		d.Hint = ne.Hint
		d.Backend = ne.Backend
	}
	st := status.New(code, err.Error())
	if withD, derr := st.WithDetails(d); derr == nil {
		st = withD
	}
	return st.Err()
}

// FromStatus restores an error returned by a plugin: its class (so
// errors.Is works against the core sentinels), and the typed
// *core.PolicyError or *core.NotEnforcedError when details came with it.
// A transport failure (the plugin died or hung up) becomes
// core.ErrBackendExited.
func FromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	var d *pb.ErrorDetail
	for _, det := range st.Details() {
		if x, ok := det.(*pb.ErrorDetail); ok {
			d = x
			break
		}
	}
	if d == nil {
		switch st.Code() {
		case codes.Unavailable:
			return &core.ClassError{Class: core.ErrBackendExited, Msg: "backend plugin stopped answering: " + st.Message()}
		case codes.Canceled:
			return &core.ClassError{Class: core.ErrCanceled, Msg: st.Message()}
		}
		return errors.New(st.Message())
	}
	switch d.Class {
	case "invalid-policy":
		if len(d.Problems) > 0 {
			pe := &core.PolicyError{}
			for _, p := range d.Problems {
				pe.Problems = append(pe.Problems, core.Problem{Field: p.Field, Value: p.Value, Reason: p.Reason})
			}
			return pe
		}
	case "not-enforced":
		if len(d.Elements) > 0 {
			return &core.NotEnforcedError{Backend: d.Backend, Elements: ElementsFromProto(d.Elements), Hint: d.Hint}
		}
	}
	for _, c := range classes {
		if c.name == d.Class {
			return &core.ClassError{Class: c.err, Msg: st.Message()}
		}
	}
	return errors.New(st.Message())
}
