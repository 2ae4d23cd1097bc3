package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/signin"
)

// statusOf maps every error kind to its HTTP status.
var statusOf = map[customer.Kind]int{
	customer.Internal:             http.StatusInternalServerError,
	customer.Invalid:              http.StatusBadRequest,
	customer.Unauthorized:         http.StatusUnauthorized,
	customer.Forbidden:            http.StatusForbidden,
	customer.NotFound:             http.StatusNotFound,
	customer.MethodNotAllowed:     http.StatusMethodNotAllowed,
	customer.Conflict:             http.StatusConflict,
	customer.PreconditionFailed:   http.StatusPreconditionFailed,
	customer.TooLarge:             http.StatusRequestEntityTooLarge,
	customer.UnsupportedMediaType: http.StatusUnsupportedMediaType,
	customer.IdempotencyMismatch:  http.StatusUnprocessableEntity,
	customer.RateLimited:          http.StatusTooManyRequests,
	customer.Unavailable:          http.StatusServiceUnavailable,
}

// errorJSON is the body of every error response.
type errorJSON struct {
	OK      bool                  `json:"ok"`
	Message string                `json:"message"`
	Errors  []customer.FieldError `json:"errors,omitempty"`
}

// statusClientGone is the status of a request whose client hung up before its answer, as
// nginx logs it: no client reads it, the request log does.
const statusClientGone = 499

// errorResponse renders err as a response. A 500 keeps its cause out of the body: the
// caller gets the request id, the log gets the cause. A failure because the client hung
// up is no error of the server's.
func (s *server) errorResponse(r *http.Request, err error) *response {
	var e *customer.Error
	switch {
	case errors.Is(r.Context().Err(), context.Canceled) && statusOf[customer.KindOf(err)] >= 500:
		b, _ := json.Marshal(errorJSON{Message: "the client closed the request before its answer"})
		return &response{Reply: customer.Reply{Status: statusClientGone, Body: b}}
	case errors.As(err, &e):
	case errors.Is(err, context.DeadlineExceeded):
		// A store call ran out of the request's time (storeDeadline). The stores say so
		// themselves; this is for a call that did not.
		e = &customer.Error{Kind: customer.Unavailable, Message: "the store did not answer in time", Err: err}
	default:
		e = &customer.Error{Kind: customer.Internal, Err: err}
	}
	status := statusOf[e.Kind]
	body := errorJSON{Message: e.Message, Errors: e.Fields}
	switch e.Kind {
	case customer.Internal:
		s.log.ErrorContext(r.Context(), "internal error", "request_id", requestID(r.Context()), "err", err)
		body = errorJSON{Message: "internal error; quote request id " + requestID(r.Context()) + " when reporting it"}
	case customer.Unavailable:
		s.warnings.Warn(r.Context(), "store unavailable", err, "request_id", requestID(r.Context()))
	}
	if body.Message == "" {
		body.Message = http.StatusText(status)
	}
	b, _ := json.Marshal(body)
	return &response{Reply: customer.Reply{Status: status, Body: b}}
}

// writeError sends err as an error response, with the headers its status calls for.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	resp := s.errorResponse(r, err)
	switch resp.Status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Basic realm="custd", charset="UTF-8"`)
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		after := "1"
		var rl *signin.RetryLater
		if errors.As(err, &rl) {
			after = strconv.Itoa(int(math.Ceil(rl.After.Seconds())))
		}
		w.Header().Set("Retry-After", after)
	}
	s.writeResponse(w, r, resp)
}
