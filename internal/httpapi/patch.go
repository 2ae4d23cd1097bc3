package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/custd/custd/internal/customer"
)

// Limits of a JSON Patch, so that applying one is cheap work whatever its operations do
// (docs/decisions.md says why each is what it is). A patched customer may also never be
// larger than maxBody as JSON, at any step.
const (
	// maxPatchOperations is the most operations one patch may have.
	maxPatchOperations = 1000
	// maxPatchDepth is the most segments a path (or from) may have, and how deeply a
	// value may nest objects and arrays.
	maxPatchDepth = 10
	// maxPatchWidth is the most members or items one object or array in a value may have.
	maxPatchWidth = 1000
	// maxPatchCopied is the most bytes the copy operations of one patch may copy, in all.
	maxPatchCopied = 64 << 10
)

// jsonPatch is a parsed RFC 6902 document.
type jsonPatch struct {
	ops []patchOp
	all jsonpatch.Patch // every operation, its paths made absolute, to apply in one pass
	// grows is the most bytes the operations can add to a document, copies aside: the
	// values they put in and the member names they make. (Copies are counted as they
	// are made, see apply.)
	grows int
}

// patchOp is one parsed JSON Patch operation.
type patchOp struct {
	index      int
	op         string
	path, from string
}

var patchOptions = func() *jsonpatch.ApplyOptions {
	o := jsonpatch.NewApplyOptions()
	o.SupportNegativeIndices = false // RFC 6902 has no negative indices
	o.EscapeHTML = false
	return o
}()

// parsePatch reads an RFC 6902 document and checks it against the limits. A path may omit
// its leading '/', as the public documentation writes them (fields/2/value). Operations
// that would change a read-only member are refused here, before anything is read.
// Errors: Invalid.
func parsePatch(body []byte) (*jsonPatch, error) {
	// Counted before decoding: 1 MiB of operations decoded is a lot of work to refuse.
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] == '[' && json.Valid(trimmed) {
		if _, _, n := jsonShape(trimmed); n > maxPatchOperations {
			return nil, customer.Errorf(customer.Invalid, "the JSON Patch document has %d operations; a patch may have at most %d operations", n, maxPatchOperations)
		}
	}
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) || json.Valid(body) {
			return nil, customer.Errorf(customer.Invalid, "a JSON Patch document must be an array of operation objects")
		}
		return nil, customer.Errorf(customer.Invalid, "the request body is not valid JSON: %s", jsonProblem(err))
	}
	var p customer.Problems
	jp := &jsonPatch{ops: make([]patchOp, 0, len(raw)), all: make(jsonpatch.Patch, 0, len(raw))}
	for i, m := range raw {
		at := "[" + strconv.Itoa(i) + "]"
		var op patchOp
		op.index = i
		if err := json.Unmarshal(m["op"], &op.op); err != nil || !slices.Contains([]string{"add", "remove", "replace", "move", "copy", "test"}, op.op) {
			p.Add(at+".op", "must be one of add, remove, replace, move, copy, test")
			continue
		}
		for _, member := range []string{"path", "from"} {
			if member == "from" && op.op != "move" && op.op != "copy" {
				continue
			}
			var s string
			if err := json.Unmarshal(m[member], &s); err != nil {
				p.Add(at+"."+member, "is required and must be a JSON Pointer string")
				continue
			}
			if s != "" && !strings.HasPrefix(s, "/") {
				s = "/" + s
			}
			if n := strings.Count(s, "/"); n > maxPatchDepth {
				p.Add(at+"."+member, "must have at most %d segments (has %d)", maxPatchDepth, n)
			}
			if member == "path" {
				op.path = s
			} else {
				op.from = s
			}
			// Reading a read-only member (test, copy's from) is allowed; changing one is not.
			if changes := member == "path" && op.op != "test" || member == "from" && op.op == "move"; changes {
				if field := readOnlyTarget(s); field != "" {
					p.Add(field, "is read-only and cannot be changed by %s", op.op)
				}
			}
			b, _ := json.Marshal(s)
			m[member] = b
		}
		value, ok := m["value"]
		switch {
		case !ok && (op.op == "add" || op.op == "replace" || op.op == "test"):
			p.Add(at+".value", "is required for %s", op.op)
		case ok && op.op != "remove" && op.op != "move" && op.op != "copy":
			depth, width, _ := jsonShape(value)
			if depth > maxPatchDepth {
				p.Add(at+".value", "must be nested at most %d deep (is %d)", maxPatchDepth, depth)
			}
			if width > maxPatchWidth {
				p.Add(at+".value", "may hold at most %d members or items in one object or array (holds %d)", maxPatchWidth, width)
			}
		}
		// What the operation can add to the document: the value it puts in, and the member
		// it names, escaped as JSON (at most 6 bytes a byte) with quotes, colon and comma.
		if op.op != "test" && op.op != "remove" {
			if op.op == "add" || op.op == "replace" {
				jp.grows += len(value)
			}
			jp.grows += 6*len(op.path) + 4
		}
		one := jsonpatch.Operation{}
		for k, v := range m {
			v := v
			one[k] = &v
		}
		jp.ops = append(jp.ops, op)
		jp.all = append(jp.all, one)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return jp, nil
}

// jsonShape returns how deeply a valid JSON value nests objects and arrays, the most
// members or items one of them holds, and how many the value itself holds (0 for a
// string, number, boolean or null).
func jsonShape(v []byte) (depth, width, length int) {
	var open []int // members or items so far of each open object or array
	inString, first := false, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			continue
		}
		if first { // the first thing after an opening bracket: a member, an item or the end
			first = false
			if c != '}' && c != ']' {
				open[len(open)-1] = 1
			}
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			open = append(open, 0)
			depth, first = max(depth, len(open)), true
		case ',':
			open[len(open)-1]++
		case '}', ']':
			width, length = max(width, open[len(open)-1]), open[len(open)-1]
			open = open[:len(open)-1]
		}
	}
	return depth, width, length
}

// readOnlyTarget returns the dotted name of the read-only member a JSON Pointer points
// at or into, or "".
func readOnlyTarget(pointer string) string {
	parts := strings.Split(strings.TrimPrefix(pointer, "/"), "/")
	for i := range parts {
		parts[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(parts[i])
	}
	for depth := 1; depth <= min(len(parts), 2); depth++ {
		parent := strings.Join(parts[:depth-1], ".")
		if slices.Contains(readOnly[parent], parts[depth-1]) && parts[depth-1] != "ok" && parts[depth-1] != "links" {
			return strings.Join(parts[:depth], ".")
		}
	}
	return ""
}

// apply applies the patch to doc in one pass, all or nothing. The document may not grow
// beyond maxBody: what the operations other than copy add is known beforehand (grows),
// and copies are counted as they are made, so a patch that would build a larger document
// (or copy more than maxPatchCopied) stops at the copy that would pass the limit. With the limits of parsePatch the work is
// bounded by the sizes of doc and the patch. Errors: Conflict for a failed test, Invalid
// for an operation that cannot apply or a document that would grow too large.
func (p *jsonPatch) apply(doc []byte) ([]byte, error) {
	out, err := p.applyOnce(doc)
	if err != nil {
		return nil, p.explain(doc, err)
	}
	return out, nil
}

// applyOnce is apply without explain: its errors, other than Invalid for a document that
// would grow too large, are json-patch's own, which do not say which operation failed.
func (p *jsonPatch) applyOnce(doc []byte) ([]byte, error) {
	room := maxBody - len(doc) - p.grows
	if room <= 0 {
		return nil, customer.Errorf(customer.Invalid, "the patch would make the customer larger than %d bytes (1 MiB) as JSON: the customer has %d bytes and the operations may add %d",
			maxBody, len(doc), p.grows)
	}
	return p.all.ApplyWithOptions(doc, p.options(room))
}

// options are the options of applying the patch to a document with room bytes to grow.
func (p *jsonPatch) options(room int) *jsonpatch.ApplyOptions {
	opts := *patchOptions
	opts.AccumulatedCopySizeLimit = int64(min(room, maxPatchCopied))
	return &opts
}

// explain turns an error of applyOnce on doc into the error that names the failed
// operation: the last one of the shortest failing prefix. Applying a prefix costs no more
// than applying the patch, and the prefix is found in a few. Copies that would grow the
// customer too large are not looked for: those prefixes are the costly ones to apply.
func (p *jsonPatch) explain(doc []byte, err error) error {
	var tooLarge *jsonpatch.AccumulatedCopySizeError
	switch {
	case customer.KindOf(err) != customer.Internal:
		return err
	case errors.As(err, &tooLarge) && maxBody-len(doc)-p.grows < maxPatchCopied:
		return customer.Errorf(customer.Invalid, "the copy operations of the patch would make the customer larger than %d bytes (1 MiB) as JSON", maxBody)
	case errors.As(err, &tooLarge):
		return customer.Errorf(customer.Invalid, "the copy operations of the patch copy more than %d bytes (64 KiB); a patch may copy at most that much", maxPatchCopied)
	}
	opts := p.options(maxBody - len(doc) - p.grows)
	lo, hi := 0, len(p.all)-1 // the failing operation is in [lo, hi]
	for lo < hi {
		mid := (lo + hi) / 2
		if _, perr := p.all[:mid+1].ApplyWithOptions(doc, opts); perr != nil {
			hi, err = mid, perr
		} else {
			lo = mid + 1
		}
	}
	op := p.ops[hi]
	what := fmt.Sprintf("operation %d (%s %s)", op.index, op.op, op.path)
	if op.from != "" {
		what = fmt.Sprintf("operation %d (%s from %s to %s)", op.index, op.op, op.from, op.path)
	}
	switch {
	case op.op == "test":
		return customer.Errorf(customer.Conflict, "%s failed: the document does not hold that value", what)
	case errors.Is(err, jsonpatch.ErrMissing), errors.Is(err, jsonpatch.ErrInvalidIndex):
		return customer.Errorf(customer.Invalid, "%s cannot apply: its path does not exist in the customer", what)
	default:
		return customer.Errorf(customer.Invalid, "%s cannot apply: %v", what, err)
	}
}

// patchFailure is a patch that failed inside a write, on the document doc. The write
// gives up with it, and the failed operation is found after, outside the write (explain).
type patchFailure struct {
	doc []byte
	err error
}

func (f *patchFailure) Error() string { return "the patch does not apply: " + f.err.Error() }
