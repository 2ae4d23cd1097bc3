package httpapi

import (
	"bytes"
	"encoding/json"
	"strconv"

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
	return diffTrees(e.tree(prev), to)
}

// diffTrees lists what changed between two customers' wire forms, as changes does.
func diffTrees(from, to *node) []changeJSON {
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
	return treeOf(b)
}

// treeOf reads a wire form that json.Marshal wrote (or one written as it would) as a tree.
func treeOf(b []byte) *node { return &node{raw: b} }

// node is a JSON value as its text, kept as it is: an object's members, in order, or an
// array's items are read from the text when first asked for, one level at a time, so that
// comparing two trees reads no deeper than where their texts differ.
type node struct {
	raw    json.RawMessage
	keys   [][]byte // an object's member names, once open
	vals   []node   // an object's member values or an array's items, once open
	opened bool
}

func (n *node) isObject() bool { return len(n.raw) > 0 && n.raw[0] == '{' }
func (n *node) isArray() bool  { return len(n.raw) > 0 && n.raw[0] == '[' }

// open reads the members or items of an object or array, one level deep.
func (n *node) open() {
	if n.opened {
		return
	}
	n.opened = true
	obj := n.isObject()
	if !obj && !n.isArray() {
		return
	}
	doc, end := n.raw, byte(']')
	if obj {
		end = '}'
	}
	size := 1 + bytes.Count(doc, []byte(",")) // at least the members, for most documents
	n.vals = make([]node, 0, min(size, 32))
	if obj {
		n.keys = make([][]byte, 0, cap(n.vals))
	}
	for i := skipSpace(doc, 1); doc[i] != end; {
		if obj {
			e := stringEnd(doc, i)
			key := doc[i+1 : e-1]
			if bytes.IndexByte(key, '\\') >= 0 {
				var k string
				json.Unmarshal(doc[i:e], &k)
				key = []byte(k)
			}
			n.keys = append(n.keys, key)
			i = skipSpace(doc, skipSpace(doc, e)+1) // past ':'
		}
		e := skipValue(doc, i)
		if e == i {
			panic("httpapi: not a JSON value at " + strconv.Itoa(i)) // as json.Marshal writes none
		}
		n.vals = append(n.vals, node{raw: doc[i:e]})
		if i = skipSpace(doc, e); doc[i] == ',' {
			i = skipSpace(doc, i+1)
		}
	}
}

// member returns the value of the object's member k, or nil; the member is looked for
// first at position hint, where it is when both objects have the same members.
func (n *node) member(k []byte, hint int) *node {
	n.open()
	if hint < len(n.keys) && bytes.Equal(n.keys[hint], k) {
		return &n.vals[hint]
	}
	for i, key := range n.keys {
		if bytes.Equal(key, k) {
			return &n.vals[i]
		}
	}
	return nil
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
	from.open()
	to.open()
	for i, k := range to.keys {
		if path == "" && unlisted[string(k)] {
			continue
		}
		f, t := from.member(k, i), &to.vals[i]
		if f == nil {
			*out = append(*out, changeJSON{join(path, string(k)), json.RawMessage("null"), t.raw})
			continue
		}
		if !bytes.Equal(f.raw, t.raw) { // the same text is the same value, to its leaves
			diffValues(out, join(path, string(k)), f, t)
		}
	}
	for i, k := range from.keys {
		if to.member(k, i) == nil && !(path == "" && unlisted[string(k)]) {
			*out = append(*out, changeJSON{join(path, string(k)), from.vals[i].raw, json.RawMessage("null")})
		}
	}
}

func diffValues(out *[]changeJSON, path string, from, to *node) {
	switch {
	case from.isObject() && to.isObject():
		diffObjects(out, path, from, to)
	case path == "fields" && from.isArray() && to.isArray():
		from.open()
		to.open()
		diffFields(out, from.vals, to.vals)
	case !bytes.Equal(from.raw, to.raw):
		*out = append(*out, changeJSON{path, from.raw, to.raw})
	}
}

// diffFields compares custom fields by field_id.
func diffFields(out *[]changeJSON, from, to []node) {
	byID := func(items []node) (map[string]*node, []string) {
		m := make(map[string]*node, len(items))
		var ids []string
		for i := range items {
			it := &items[i]
			if !it.isObject() {
				continue
			}
			if id := it.member([]byte("field_id"), 0); id != nil {
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
