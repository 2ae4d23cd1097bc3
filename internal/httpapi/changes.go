package httpapi

import (
	"bytes"
	"encoding/json"

	"github.com/custd/custd/internal/customer"
)

// changeJSON is one changed leaf of a write, as history and the change feed list it.
type changeJSON struct {
	Field string          `json:"field"`
	From  json.RawMessage `json:"from"`
	To    json.RawMessage `json:"to"`
}

// unlisted are the customer's members that changes never list: the server sets
// updated_date on every write, and ok and links are not the customer's.
var unlisted = map[string]bool{"updated_date": true, "ok": true, "links": true}

// changes lists what a write changed, comparing the wire forms of the customer before
// (prev; nil for the first version, which is compared with the customer a POST of {}
// would make) and after it, one item per changed leaf:
//   - paths are written like error paths: billing_address.city, finance.balance_limit;
//   - a custom field is named by its field_id, not its position: fields[3].value;
//   - an address or custom field that appears or disappears is one item whose from or to
//     is null and the other the whole object.
func (e encoder) changes(prev, next *customer.Customer) []changeJSON {
	return e.changesTo(prev, next, e.tree(next))
}

// changesTo is changes with next already as its tree, to.
func (e encoder) changesTo(prev, next *customer.Customer, to *node) []changeJSON {
	if prev == nil {
		prev = &customer.Customer{ID: next.ID, ClientID: next.ClientID, CreatedBy: next.CreatedBy,
			CreatedDate: next.CreatedDate, UpdatedDate: next.UpdatedDate, Writable: customer.Writable{Status: customer.StatusOpen}}
	}
	from := e.tree(prev)
	out := []changeJSON{}
	diffObjects(&out, "", from, to)
	return out
}

// tree is the wire form of c as a tree that keeps the members' order.
func (e encoder) tree(c *customer.Customer) *node {
	b, err := json.Marshal(e.customer(c))
	if err != nil {
		panic(err) // the wire structs always marshal
	}
	n, _ := parseNode(b, 0)
	return n
}

// node is a JSON value: an object with its members in order, an array, or a leaf kept as
// its JSON text.
type node struct {
	keys    []string
	members map[string]*node
	items   []*node
	isArray bool
	raw     json.RawMessage // every node's own JSON text
}

func (n *node) isObject() bool { return n.members != nil }

// parseNode reads the value of doc, valid JSON as json.Marshal writes it, that starts at
// or after i, and returns it and the offset just past it. It only finds where values
// start and end: the leaves stay as their text.
func parseNode(doc []byte, i int) (*node, int) {
	i = skipSpace(doc, i)
	start := i
	n := &node{}
	switch doc[i] {
	case '{':
		n.members = map[string]*node{}
		i = skipSpace(doc, i+1)
		for doc[i] != '}' {
			end := stringEnd(doc, i)
			key := string(doc[i+1 : end-1])
			if bytes.IndexByte(doc[i:end], '\\') >= 0 {
				json.Unmarshal(doc[i:end], &key)
			}
			i = skipSpace(doc, end) + 1 // past ':'
			var v *node
			v, i = parseNode(doc, i)
			n.keys = append(n.keys, key)
			n.members[key] = v
			if i = skipSpace(doc, i); doc[i] == ',' {
				i = skipSpace(doc, i+1)
			}
		}
		i++
	case '[':
		n.isArray = true
		i = skipSpace(doc, i+1)
		for doc[i] != ']' {
			var v *node
			v, i = parseNode(doc, i)
			n.items = append(n.items, v)
			if i = skipSpace(doc, i); doc[i] == ',' {
				i = skipSpace(doc, i+1)
			}
		}
		i++
	case '"':
		i = stringEnd(doc, i)
	default: // a number, true, false or null
		for i < len(doc) && doc[i] != ',' && doc[i] != '}' && doc[i] != ']' && skipSpace(doc, i) == i {
			i++
		}
	}
	n.raw = doc[start:i]
	return n, i
}

// stringEnd returns the offset just past the string that starts at doc[i].
func stringEnd(doc []byte, i int) int {
	for i++; ; i++ {
		switch doc[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
}

func diffObjects(out *[]changeJSON, path string, from, to *node) {
	for _, k := range to.keys {
		if path == "" && unlisted[k] {
			continue
		}
		p := join(path, k)
		f, t := from.members[k], to.members[k]
		if f == nil {
			*out = append(*out, changeJSON{p, json.RawMessage("null"), t.raw})
			continue
		}
		diffValues(out, p, f, t)
	}
	for _, k := range from.keys {
		if _, kept := to.members[k]; !kept && !(path == "" && unlisted[k]) {
			*out = append(*out, changeJSON{join(path, k), from.members[k].raw, json.RawMessage("null")})
		}
	}
}

func diffValues(out *[]changeJSON, path string, from, to *node) {
	switch {
	case from.isObject() && to.isObject():
		diffObjects(out, path, from, to)
	case path == "fields" && from.isArray && to.isArray:
		diffFields(out, from.items, to.items)
	case !bytes.Equal(from.raw, to.raw):
		*out = append(*out, changeJSON{path, from.raw, to.raw})
	}
}

// diffFields compares custom fields by field_id.
func diffFields(out *[]changeJSON, from, to []*node) {
	byID := func(items []*node) (map[string]*node, []string) {
		m := make(map[string]*node, len(items))
		var ids []string
		for _, it := range items {
			if id := it.members["field_id"]; it.isObject() && id != nil {
				m[string(id.raw)] = it
				ids = append(ids, string(id.raw))
			}
		}
		return m, ids
	}
	fm, fids := byID(from)
	tm, tids := byID(to)
	path := func(id string) string { return "fields[" + id + "]" }
	for _, id := range tids {
		if f := fm[id]; f != nil {
			diffObjects(out, path(id), f, tm[id])
		} else {
			*out = append(*out, changeJSON{path(id), json.RawMessage("null"), tm[id].raw})
		}
	}
	for _, id := range fids {
		if tm[id] == nil {
			*out = append(*out, changeJSON{path(id), fm[id].raw, json.RawMessage("null")})
		}
	}
}
