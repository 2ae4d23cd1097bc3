package customer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Document returns the stored form of c, the same in every store: the JSON of Customer's
// fields under their storage tags. The id, client and version are kept beside it.
func (c *Customer) Document() ([]byte, error) { return json.Marshal(c) }

// FromDocument rebuilds a stored customer from its id, client, version and Document.
func FromDocument(id int32, client, version int64, doc []byte) (*Customer, error) {
	c := &Customer{}
	if err := json.Unmarshal(doc, c); err != nil {
		return nil, fmt.Errorf("customer %d: stored document: %w", id, err)
	}
	c.ID, c.ClientID, c.Version = id, client, version
	return c, nil
}

// fieldsMember starts the custom fields in a Document. Only the member can hold it: in a
// text, a quotation mark is escaped.
var fieldsMember = []byte(`"fields":[`)

// DocumentFieldIDs appends to ids the field_id of each custom field of a stored Document,
// without decoding the rest of it.
func DocumentFieldIDs(ids []int32, doc []byte) ([]int32, error) {
	start := bytes.Index(doc, fieldsMember)
	if start < 0 {
		return ids, nil
	}
	start += len(fieldsMember) - 1
	// The array ends at the first ] outside a text: a custom field holds no array.
	end, text := -1, false
	for i := start + 1; i < len(doc) && end < 0; i++ {
		switch c := doc[i]; {
		case text && c == '\\':
			i++
		case c == '"':
			text = !text
		case !text && c == ']':
			end = i
		}
	}
	if end < 0 {
		return ids, errors.New("custom fields not closed")
	}
	var fields []struct {
		FieldID int32 `json:"field_id"`
	}
	if err := json.Unmarshal(doc[start:end+1], &fields); err != nil {
		return ids, err
	}
	for _, f := range fields {
		ids = append(ids, f.FieldID)
	}
	return ids, nil
}

// PageOf makes the page of q from the customers a store read for it: up to one more than
// the page size, the extra one only telling that a later page has records.
func (q *Query) PageOf(cs []*Customer) *Page {
	cs, more := pageOf(q.PageSize, cs)
	return &Page{Customers: cs, HasMore: more}
}

// StoredPageOf is PageOf for customers as stored.
func (q *Query) StoredPageOf(cs []*Stored) *StoredPage {
	cs, more := pageOf(q.PageSize, cs)
	return &StoredPage{Customers: cs, HasMore: more}
}

// pageOf returns a page of size records from those a store read for it (up to one more
// than size), and whether a later page has records.
func pageOf[T any](size int, rs []T) ([]T, bool) {
	if len(rs) > size {
		return rs[:size], true
	}
	return rs, false
}
