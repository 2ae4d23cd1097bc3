package customer

import (
	"encoding/json"
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

// PageOf makes the page of q from the customers a store read for it: up to one more than
// the page size, the extra one only telling that a later page has records.
func (q *Query) PageOf(cs []*Customer) *Page {
	if len(cs) > q.PageSize {
		return &Page{Customers: cs[:q.PageSize], HasMore: true}
	}
	return &Page{Customers: cs}
}
