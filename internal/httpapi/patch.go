package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/custd/custd/internal/customer"
)

// patchOp is one parsed JSON Patch operation.
type patchOp struct {
	index int
	op    string
	path  string
	patch jsonpatch.Patch // the operation alone, with its paths made absolute
}

var patchOptions = func() *jsonpatch.ApplyOptions {
	o := jsonpatch.NewApplyOptions()
	o.SupportNegativeIndices = false // RFC 6902 has no negative indices
	o.EscapeHTML = false
	return o
}()

// parsePatch reads an RFC 6902 document. A path may omit its leading '/', as the public
// documentation writes them (fields/2/value). Operations that would change a read-only
// member are refused here, before anything is read. Errors: Invalid.
func parsePatch(body []byte) ([]patchOp, error) {
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) || json.Valid(body) {
			return nil, customer.Errorf(customer.Invalid, "a JSON Patch document must be an array of operation objects")
		}
		return nil, customer.Errorf(customer.Invalid, "the request body is not valid JSON: %s", jsonProblem(err))
	}
	if len(raw) == 0 {
		return nil, customer.Errorf(customer.Invalid, "the JSON Patch document has no operations")
	}
	var p customer.Problems
	ops := make([]patchOp, 0, len(raw))
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
			if member == "path" {
				op.path = s
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
		if _, ok := m["value"]; !ok && (op.op == "add" || op.op == "replace" || op.op == "test") {
			p.Add(at+".value", "is required for %s", op.op)
		}
		one := jsonpatch.Operation{}
		for k, v := range m {
			v := v
			one[k] = &v
		}
		op.patch = jsonpatch.Patch{one}
		ops = append(ops, op)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return ops, nil
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

// applyPatch applies ops to doc in order, all or nothing. Errors: Conflict for a failed
// test, Invalid for an operation that cannot apply.
func applyPatch(doc []byte, ops []patchOp) ([]byte, error) {
	for _, op := range ops {
		next, err := op.patch.ApplyWithOptions(doc, patchOptions)
		if err != nil {
			what := fmt.Sprintf("operation %d (%s %s)", op.index, op.op, op.path)
			switch {
			case op.op == "test":
				return nil, customer.Errorf(customer.Conflict, "%s failed: the document does not hold that value", what)
			case errors.Is(err, jsonpatch.ErrMissing), errors.Is(err, jsonpatch.ErrInvalidIndex):
				return nil, customer.Errorf(customer.Invalid, "%s cannot apply: its path does not exist in the customer", what)
			default:
				return nil, customer.Errorf(customer.Invalid, "%s cannot apply: %v", what, err)
			}
		}
		doc = next
	}
	return doc, nil
}
