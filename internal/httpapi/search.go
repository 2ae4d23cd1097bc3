package httpapi

import (
	"github.com/custd/custd/internal/customer"
)

// customerParams is the table of the customer search's parameters, reading into q.
func customerParams(q *customer.Query) []param {
	table := []param{
		idsParam("customer_id", &q.IDs),
		stringsParam("account_number", &q.AccountNumbers),
		idsParam("parent_customer_id", &q.ParentIDs),
		idsParam("agent_id", &q.AgentIDs),
		idsParam("secondary_agent_id", &q.SecondaryAgentIDs),
		idsParam("sold_by", &q.SoldBy),
		idsParam("created_by", &q.CreatedBy),
		idsParam("bill_profile_id", &q.BillProfileIDs),
		enumsParam("status", customer.Statuses, "ALL", &q.Statuses),
		textParam("email", customer.MaxEmail, &q.Email),
		textParam("name", customer.MaxNameSearch, &q.Name),
		flagParam("is_parent", &q.IsParent),
		flagParam("suspended", &q.Suspended),
		sortParam(customer.SortKeys, &q.Sort, &q.Descending),
	}
	table = append(table, rangeParams("created_date", &q.Created)...)
	table = append(table, rangeParams("updated_date", &q.Updated)...)
	table = append(table, rangeParams("activated_date", &q.Activated)...)
	table = append(table, rangeParams("close_date", &q.Closed)...)
	return append(table, pagingParams(&q.Page, &q.PageSize)...)
}

// parseSearch reads the raw query string of a customer search. Errors: Invalid, naming
// every bad parameter.
func parseSearch(raw string) (*customer.Query, error) {
	q := &customer.Query{Sort: customer.SortCustomerID, Page: 1, PageSize: customer.DefaultPageSize}
	if err := parseParams(raw, customerParams(q)); err != nil {
		return nil, err
	}
	return q, nil
}
