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
	p := &parser{doc: b}
	return p.value()
}

// node is a JSON value: an object with its members in order, an array, or a leaf kept as
// its JSON text.
type node struct {
	keys     [][]byte // an object's member names, in order
	vals     []*node  // and their values
	items    []*node
	isObject bool
	isArray  bool
	raw      json.RawMessage // every node's own JSON text
}

// member returns the value of the object's member k, or nil; the member is looked for
// first at position hint, where it is when both objects have the same members.
func (n *node) member(k []byte, hint int) *node {
	if hint < len(n.keys) && bytes.Equal(n.keys[hint], k) {
		return n.vals[hint]
	}
	for i, key := range n.keys {
		if bytes.Equal(key, k) {
			return n.vals[i]
		}
	}
	return nil
}

// parser reads a valid JSON document, as json.Marshal writes it, into nodes. It only
// finds where values start and end: the leaves stay as their text, and the names are
// slices of the document.
type parser struct {
	doc   []byte
	i     int
	nodes []node // allocated a block at a time
}

func (p *parser) newNode() *node {
	if len(p.nodes) == cap(p.nodes) {
		p.nodes = make([]node, 0, 64)
	}
	p.nodes = p.nodes[:len(p.nodes)+1]
	return &p.nodes[len(p.nodes)-1]
}

// value reads the value that starts at or after p.i.
func (p *parser) value() *node {
	doc := p.doc
	p.i = skipSpace(doc, p.i)
	start := p.i
	n := p.newNode()
	switch doc[p.i] {
	case '{':
		n.isObject = true
		p.i = skipSpace(doc, p.i+1)
		for doc[p.i] != '}' {
			end := stringEnd(doc, p.i)
			key := doc[p.i+1 : end-1]
			if bytes.IndexByte(key, '\\') >= 0 {
				var k string
				json.Unmarshal(doc[p.i:end], &k)
				key = []byte(k)
			}
			p.i = skipSpace(doc, end) + 1 // past ':'
			n.keys = append(n.keys, key)
			n.vals = append(n.vals, p.value())
			if p.i = skipSpace(doc, p.i); doc[p.i] == ',' {
				p.i = skipSpace(doc, p.i+1)
			}
		}
		p.i++
	case '[':
		n.isArray = true
		p.i = skipSpace(doc, p.i+1)
		for doc[p.i] != ']' {
			n.items = append(n.items, p.value())
			if p.i = skipSpace(doc, p.i); doc[p.i] == ',' {
				p.i = skipSpace(doc, p.i+1)
			}
		}
		p.i++
	case '"':
		p.i = stringEnd(doc, p.i)
	default: // a number, true, false or null
		for p.i < len(doc) && doc[p.i] != ',' && doc[p.i] != '}' && doc[p.i] != ']' && skipSpace(doc, p.i) == p.i {
			p.i++
		}
	}
	n.raw = doc[start:p.i]
	return n
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
	for i, k := range to.keys {
		if path == "" && unlisted[string(k)] {
			continue
		}
		f, t := from.member(k, i), to.vals[i]
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
	case from.isObject && to.isObject:
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
			if id := it.member([]byte("field_id"), 0); it.isObject && id != nil {
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
