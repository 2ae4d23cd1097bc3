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

// changesTo is changes with next already in its wire form, to.
func (e encoder) changesTo(prev, next *customer.Customer, to []byte) []changeJSON {
	if prev == nil {
		prev = &customer.Customer{ID: next.ID, ClientID: next.ClientID, CreatedBy: next.CreatedBy,
			CreatedDate: next.CreatedDate, UpdatedDate: next.UpdatedDate, Writable: customer.Writable{Status: customer.StatusOpen}}
	}
	return diffTrees(e.tree(prev), to)
}

// diffTrees lists what changed between two customers' wire forms, as changes does.
func diffTrees(from, to []byte) []changeJSON {
	var d differ
	return d.trees(from, to)
}

// differ compares wire forms. Its members are the objects' members being compared, those
// of each object on the path from the root: a stack kept between comparisons, so that
// neither the heap nor the goroutine's stack grows for them.
type differ struct{ ms []member }

// trees lists what changed between two customers' wire forms, as changes does.
func (d *differ) trees(from, to []byte) []changeJSON {
	out := []changeJSON{}
	d.objects(&out, "", from, to)
	return out
}

// tree is the wire form of c, its members in order.
func (e encoder) tree(c *customer.Customer) []byte {
	b, err := json.Marshal(e.customer(c))
	if err != nil {
		panic(err) // the wire structs always marshal
	}
	return b
}

// member is a member of a JSON object: its name and the text of its value. The
// comparisons read the wire forms, as json.Marshal writes them, one object at a time and
// in place, and only where the two texts differ.
type member struct{ key, val []byte }

// scanMembers appends the members of the object o to ms, in order.
func scanMembers(o []byte, ms []member) []member {
	eachMember(o, func(k, v []byte) { ms = append(ms, member{k, v}) })
	return ms
}

// find returns the value of member k, or nil; it is looked for first at position hint,
// where it is when both objects have the same members.
func find(ms []member, k []byte, hint int) []byte {
	if hint < len(ms) && bytes.Equal(ms[hint].key, k) {
		return ms[hint].val
	}
	for _, m := range ms {
		if bytes.Equal(m.key, k) {
			return m.val
		}
	}
	return nil
}

func isObject(v []byte) bool { return len(v) > 0 && v[0] == '{' }
func isArray(v []byte) bool  { return len(v) > 0 && v[0] == '[' }

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

func (d *differ) objects(out *[]changeJSON, path string, from, to []byte) {
	start := len(d.ms)
	d.ms = scanMembers(from, d.ms)
	mid := len(d.ms)
	d.ms = scanMembers(to, d.ms)
	// The comparisons below append the members of nested objects after these, and take
	// them off again: fm and tm keep theirs, even where d.ms moves to a larger array.
	fm, tm := d.ms[start:mid:mid], d.ms[mid:len(d.ms):len(d.ms)]
	for i, m := range tm {
		if path == "" && unlisted[string(m.key)] {
			continue
		}
		f := find(fm, m.key, i)
		if f == nil {
			*out = append(*out, changeJSON{join(path, string(m.key)), json.RawMessage("null"), m.val})
			continue
		}
		if !bytes.Equal(f, m.val) { // the same text is the same value, to its leaves
			d.values(out, join(path, string(m.key)), f, m.val)
		}
	}
	for i, m := range fm {
		if find(tm, m.key, i) == nil && !(path == "" && unlisted[string(m.key)]) {
			*out = append(*out, changeJSON{join(path, string(m.key)), m.val, json.RawMessage("null")})
		}
	}
	d.ms = d.ms[:start]
}

func (d *differ) values(out *[]changeJSON, path string, from, to []byte) {
	switch {
	case isObject(from) && isObject(to):
		d.objects(out, path, from, to)
	case path == "fields" && isArray(from) && isArray(to):
		d.fields(out, items(from), items(to))
	case !bytes.Equal(from, to):
		*out = append(*out, changeJSON{path, from, to})
	}
}

// fields compares custom fields by field_id.
func (d *differ) fields(out *[]changeJSON, from, to [][]byte) {
	byID := func(items [][]byte) (map[string][]byte, []string) {
		m := make(map[string][]byte, len(items))
		var ids []string
		for _, it := range items {
			if !isObject(it) {
				continue
			}
			var mb [8]member
			if id := find(scanMembers(it, mb[:0]), []byte("field_id"), 0); id != nil {
				m[string(id)] = it
				ids = append(ids, string(id))
			}
		}
		return m, ids
	}
	fm, fids := byID(from)
	tm, tids := byID(to)
	path := func(id string) string { return "fields[" + id + "]" }
	for _, id := range tids {
		if f := fm[id]; f != nil {
			d.objects(out, path(id), f, tm[id])
		} else {
			*out = append(*out, changeJSON{path(id), json.RawMessage("null"), tm[id]})
		}
	}
	for _, id := range fids {
		if tm[id] == nil {
			*out = append(*out, changeJSON{path(id), fm[id], json.RawMessage("null")})
		}
	}
}
