package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/custd/custd/internal/customer"
	"github.com/custd/custd/internal/queryparam"
)

// maxBody is the largest request body accepted.
const maxBody = 1 << 20

// Media types of request bodies.
var (
	jsonBodies  = []string{"application/json", "text/json"}
	patchBodies = []string{"application/json-patch+json"}
	// optionalJSON is a JSON body, or none at all (no Content-Type and no bytes).
	optionalJSON = []string{"application/json", "text/json", ""}
)

// writeRequest is a write, its body already read, ready to run.
type writeRequest struct {
	r    *http.Request
	user *customer.User
	body []byte
	key  *customer.IdempotencyKey // nil without an Idempotency-Key
}

// writing reads and checks a write's body, then runs h under the request's
// Idempotency-Key: a retry of a finished request gets the first response again.
// bodies lists the media types h takes; nil means h takes no body.
func (s *server) writing(bodies []string, h func(*writeRequest) (*response, error)) func(*http.Request, *customer.User) (*response, error) {
	return func(r *http.Request, u *customer.User) (*response, error) {
		body, err := readBody(r, bodies)
		if err != nil {
			return nil, err
		}
		wr := &writeRequest{r: r, user: u, body: body}
		key, given := r.Header["Idempotency-Key"]
		if !given {
			return h(wr)
		}
		if len(key) != 1 || !validIdempotencyKey(key[0]) {
			return nil, customer.Problems{{Field: "Idempotency-Key", Message: "must be one header of 1 to 255 printable ASCII characters"}}.Err()
		}
		sum := sha256.Sum256([]byte(r.Method + "\n" + r.URL.Path + "\n" + string(body)))
		wr.key = &customer.IdempotencyKey{User: u.ID, Key: key[0], Fingerprint: hex.EncodeToString(sum[:])}
		stored, err := s.keys.BeginIdempotent(r.Context(), wr.key)
		if err != nil {
			return nil, err
		}
		if stored != nil {
			return &response{Reply: *stored, Replayed: true}, nil
		}
		resp, err := h(wr)
		// Record the outcome for retries; a server-side failure is forgotten instead, so
		// that a retry runs again. The client may be gone, or the request's time up:
		// finish regardless, in a time of its own.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.storeTimeout)
		defer cancel()
		switch {
		case err != nil && statusOf[customer.KindOf(err)] >= 500:
			release := func() {
				ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.storeTimeout)
				defer cancel()
				if rerr := s.keys.ReleaseIdempotent(ctx, wr.key); rerr != nil {
					s.warnings.Warn(ctx, "releasing idempotency key", rerr, "request_id", requestID(r.Context()))
				}
			}
			if r.Context().Err() != nil {
				// The request's time is up, most likely waiting for the store: the answer
				// does not wait for it again. (A retry meanwhile is told the first request
				// still runs.)
				go release()
			} else {
				release()
			}
			return nil, err
		case err != nil:
			resp = s.errorResponse(r, err)
			fallthrough
		case !resp.Recorded:
			if ferr := s.keys.FinishIdempotent(ctx, wr.key, &resp.Reply); ferr != nil {
				s.warnings.Warn(ctx, "recording idempotent response", ferr, "request_id", requestID(r.Context()))
			}
		}
		return resp, nil
	}
}

func validIdempotencyKey(k string) bool {
	if k == "" || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// readBody checks the body's media type and reads it, up to maxBody.
// Errors: UnsupportedMediaType, TooLarge, Invalid.
func readBody(r *http.Request, accepted []string) ([]byte, error) {
	if accepted == nil {
		return nil, nil
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" && slices.Contains(accepted, "") {
		if b, err := io.ReadAll(io.LimitReader(r.Body, 1)); err == nil && len(b) == 0 {
			return nil, nil
		}
	}
	media, _, err := mime.ParseMediaType(ct)
	if err != nil || media == "" || !slices.Contains(accepted, strings.ToLower(media)) {
		return nil, customer.Errorf(customer.UnsupportedMediaType, "Content-Type must be %s", strings.Join(slices.DeleteFunc(slices.Clone(accepted), func(s string) bool { return s == "" }), " or "))
	}
	if r.ContentLength > maxBody {
		return nil, tooLarge()
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tooLarge()
	}
	if err != nil {
		return nil, customer.Errorf(customer.Invalid, "reading the request body: %v", err)
	}
	return body, nil
}

func tooLarge() error {
	return customer.Errorf(customer.TooLarge, "the request body is larger than %d bytes (1 MiB)", maxBody)
}

// pathID reads the {id} of a customer path. Errors: Invalid.
func pathID(r *http.Request) (int32, error) {
	id, ok := parseID(r.PathValue("id"))
	if !ok {
		return 0, customer.Problems{{Field: "id", Message: "must be a whole number from 1 to 2147483647"}}.Err()
	}
	return id, nil
}

// parseIfMatch reads an If-Match header: "*" or a list of entity tags. Weak tags never
// match a strong comparison, so they are dropped. Nil when the header is absent.
func parseIfMatch(r *http.Request) *customer.Precondition {
	values := r.Header.Values("If-Match")
	if len(values) == 0 {
		return nil
	}
	p := &customer.Precondition{Tags: []string{}}
	for _, v := range values {
		for _, tag := range strings.Split(v, ",") {
			tag = strings.TrimSpace(tag)
			switch {
			case tag == "*":
				p.Any = true
			case strings.HasPrefix(tag, `"`):
				p.Tags = append(p.Tags, tag)
			}
		}
	}
	return p
}

// noneMatch reports whether an If-None-Match header matches etag (weak comparison).
func noneMatch(header, etag string) bool {
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
	}
	return false
}

// customerResponse renders a single customer with ok and links.
func (s *server) customerResponse(r *http.Request, c *customer.Customer, status int) (*response, error) {
	out := s.enc.customer(c)
	out.OK = true
	out.Links = s.selfLinks(r, c.ID)
	resp, err := jsonResponse(status, out)
	if err != nil {
		return nil, err
	}
	resp.ETag = c.ETag()
	return resp, nil
}

// selfLinks are the links of customer id's answers.
func (s *server) selfLinks(r *http.Request, id int32) []linkJSON {
	return []linkJSON{{Rel: "self", Href: s.base(r) + "/v1/Customers/" + strconv.Itoa(int(id))}}
}

// base is the scheme and host that links start with.
func (s *server) base(r *http.Request) string {
	if s.baseURL != "" {
		return s.baseURL
	}
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// acknowledgement makes the response of a write of any resource: inside the write's
// transaction when the request has an Idempotency-Key (through the Receipt, so that the
// stored reply is the one sent), else after the write.
type acknowledgement[T any] struct {
	key    *customer.IdempotencyKey
	render func(T) (*response, error)
	sent   *response // what Receipt's Render stored
}

// receipt is the domain's Receipt for the write.
func (a *acknowledgement[T]) receipt() customer.Receipt[T] {
	return customer.Receipt[T]{Key: a.key, Render: func(v T) (*customer.Reply, error) {
		resp, err := a.render(v)
		if err != nil {
			return nil, err
		}
		resp.Recorded = true
		a.sent = resp
		return &resp.Reply, nil
	}}
}

// response is the answer to send for the written value v.
func (a *acknowledgement[T]) response(v T) (*response, error) {
	if a.sent != nil {
		return a.sent, nil
	}
	return a.render(v)
}

// write runs the customer write w and answers with render.
func (s *server) write(wr *writeRequest, w *customer.Write, render func(*customer.Customer) (*response, error)) (*response, error) {
	ack := &acknowledgement[*customer.Customer]{key: wr.key, render: render}
	w.Client, w.User, w.Receipt = wr.user.ClientID, wr.user.ID, ack.receipt()
	w.Actor = customer.Actor{Username: wr.user.Username + "@" + wr.user.ClientCode, RequestID: requestID(wr.r.Context())}
	c, err := s.customers.WriteCustomer(wr.r.Context(), w)
	if err != nil {
		return nil, err
	}
	return ack.response(c)
}

func (s *server) createCustomer(wr *writeRequest) (*response, error) {
	in, err := decodeCustomer(wr.body, forCreate, 0)
	if err != nil {
		return nil, err
	}
	return s.write(wr, &customer.Write{Input: in, Operation: customer.OpCreate}, func(c *customer.Customer) (*response, error) {
		resp, err := jsonResponse(http.StatusCreated, struct {
			OK bool  `json:"ok"`
			ID int32 `json:"id"`
		}{true, c.ID})
		if err == nil {
			resp.Location = "/v1/Customers/" + strconv.Itoa(int(c.ID))
			resp.ETag = c.ETag()
		}
		return resp, err
	})
}

func (s *server) getCustomer(r *http.Request, u *customer.User) (*response, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	st, err := s.customers.StoredCustomer(r.Context(), u.ClientID, id)
	if err != nil {
		return nil, err
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && noneMatch(inm, st.ETag()) {
		return &response{Reply: customer.Reply{Status: http.StatusNotModified, ETag: st.ETag()}}, nil
	}
	return s.storedResponse(r, st, http.StatusOK)
}

// storedResponse is customerResponse for a customer as stored: the same bytes, written
// straight from the stored document without decoding it (wireFromDocument), and ok and
// the links around them. A document that wireFromDocument does not read is decoded.
func (s *server) storedResponse(r *http.Request, st *customer.Stored, status int) (*response, error) {
	wire, ok := s.enc.wireFromDocument(st.ID, st.Document)
	if !ok {
		c, err := st.Customer()
		if err != nil {
			return nil, err
		}
		return s.customerResponse(r, c, status)
	}
	links, err := json.Marshal(s.selfLinks(r, st.ID))
	if err != nil {
		return nil, err
	}
	// wire is {"billing_address":...,"close_on_no_active_services":...}; ok comes first
	// and links last in customerJSON.
	b := make([]byte, 0, len(wire)+len(links)+32)
	b = append(b, `{"ok":true,`...)
	b = append(b, wire[1:len(wire)-1]...)
	b = append(b, `,"links":`...)
	b = append(b, links...)
	b = append(b, '}')
	return &response{Reply: customer.Reply{Status: status, Body: b, ETag: st.ETag()}}, nil
}

func (s *server) replaceCustomer(wr *writeRequest) (*response, error) {
	id, err := pathID(wr.r)
	if err != nil {
		return nil, err
	}
	in, err := decodeCustomer(wr.body, forReplace, id)
	if err != nil {
		return nil, err
	}
	return s.write(wr, &customer.Write{ID: id, Input: in, If: parseIfMatch(wr.r), Operation: customer.OpReplace}, s.renderOK(wr.r))
}

// patchCustomer applies a JSON Patch to the customer as it is when the write locks it;
// one without operations writes nothing and answers with the customer as it is. The
// patch is first applied to the customer as it is now, before the write: the work, and
// every error it finds, happen there, without holding the write (on SQLite, the one
// writer every client waits for). The write then only checks that the customer has not
// changed since, which it almost never has; if it has, the patch is applied again there,
// which its limits keep as cheap as the write itself, and a failure of that is explained
// after the write gave up.
func (s *server) patchCustomer(wr *writeRequest) (*response, error) {
	id, err := pathID(wr.r)
	if err != nil {
		return nil, err
	}
	patch, err := parsePatch(wr.body)
	if err != nil {
		return nil, err
	}
	ifMatch := parseIfMatch(wr.r)
	cur, err := s.customers.Customer(wr.r.Context(), wr.user.ClientID, id)
	if err != nil {
		return nil, err
	}
	if err := ifMatch.Check(cur); err != nil {
		return nil, err
	}
	if len(patch.ops) == 0 {
		// Nothing to change, so no write and no new version: the customer as it is.
		return s.customerResponse(wr.r, cur, http.StatusOK)
	}
	patched := func(c *customer.Customer, explain bool) (*customer.Writable, error) {
		doc, err := json.Marshal(s.enc.customer(c))
		if err != nil {
			return nil, err
		}
		out, err := patch.applyOnce(doc)
		switch {
		case err != nil && explain:
			return nil, patch.explain(doc, err)
		case err != nil && customer.KindOf(err) == customer.Internal:
			return nil, &patchFailure{doc: doc, err: err}
		case err != nil:
			return nil, err
		}
		return decodeCustomer(out, forReplace, id)
	}
	in, err := patched(cur, true)
	if err != nil {
		return nil, err
	}
	change := func(locked *customer.Customer) (*customer.Writable, error) {
		if locked.Version == cur.Version {
			return in, nil
		}
		return patched(locked, false)
	}
	resp, err := s.write(wr, &customer.Write{ID: id, Change: change, If: ifMatch, Operation: customer.OpPatch}, s.renderOK(wr.r))
	if f := (*patchFailure)(nil); errors.As(err, &f) {
		return nil, patch.explain(f.doc, f.err)
	}
	return resp, err
}

// closeCustomer closes the account and keeps it: a billing record is never erased.
func (s *server) closeCustomer(wr *writeRequest) (*response, error) {
	id, err := pathID(wr.r)
	if err != nil {
		return nil, err
	}
	change := func(cur *customer.Customer) (*customer.Writable, error) {
		w := cur.Writable
		w.Status = customer.StatusClosed
		return &w, nil
	}
	return s.write(wr, &customer.Write{ID: id, Change: change, If: parseIfMatch(wr.r), Operation: customer.OpClose}, s.renderOK(wr.r))
}

func (s *server) renderOK(r *http.Request) func(*customer.Customer) (*response, error) {
	return func(c *customer.Customer) (*response, error) { return s.customerResponse(r, c, http.StatusOK) }
}

func (s *server) searchCustomers(r *http.Request, u *customer.User) (*response, error) {
	q, err := queryparam.Search(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	release, err := s.readingPage(r.Context(), q.PageSize)
	if err != nil {
		return nil, err
	}
	defer release()
	page, err := s.customers.SearchStored(r.Context(), u.ClientID, q)
	if err != nil {
		return nil, err
	}
	return s.storedPage(page)
}

// storedPage is the answer to a search, written from its customers as stored: the bytes
// json.Marshal writes for the list envelope of their wire forms, each record read straight
// from its document (wireFromDocument) or, when that does not read it, decoded.
func (s *server) storedPage(page *customer.StoredPage) (*response, error) {
	size := 64
	for _, st := range page.Customers {
		size += len(st.Document) + len(st.Document)/2
	}
	b := make([]byte, 0, size)
	b = append(b, `{"ok":true,"has_more":`...)
	b = strconv.AppendBool(b, page.HasMore)
	b = append(b, `,"record_count":`...)
	b = strconv.AppendInt(b, int64(len(page.Customers)), 10)
	b = append(b, `,"records":[`...)
	for i, st := range page.Customers {
		if i > 0 {
			b = append(b, ',')
		}
		var ok bool
		if b, ok = s.enc.appendWire(b, st.ID, st.Document); !ok {
			c, err := st.Customer()
			if err != nil {
				return nil, err
			}
			wire, err := json.Marshal(s.enc.customer(c))
			if err != nil {
				return nil, err
			}
			b = append(b, wire...)
		}
	}
	b = append(b, "]}"...)
	return &response{Reply: customer.Reply{Status: http.StatusOK, Body: b}}, nil
}
