package customer

import (
	"errors"
	"math/big"
	"strconv"
	"strings"
)

// Money is an exact decimal amount in ten-thousandths of the currency unit: at most four
// decimal places and an absolute value below 10^12, so it never needs a binary float.
type Money int64

const (
	moneyScale = 10_000
	// moneyLimit is 10^12 in ten-thousandths.
	moneyLimit = 1_000_000_000_000 * moneyScale
)

// Errors returned by ParseMoney; their text is the rule, for a field error.
var (
	ErrMoneySyntax = errors.New("must be a number")
	ErrMoneyPlaces = errors.New("must have at most 4 decimal places")
	ErrMoneyRange  = errors.New("must be below 1000000000000 in absolute value")
)

// ParseMoney parses a JSON number literal (such as "12.5", "-3", "1.25e2") exactly.
func ParseMoney(s string) (Money, error) {
	if !isJSONNumber(s) {
		return 0, ErrMoneySyntax
	}
	// An exponent beyond a few digits cannot give a value in range with at most 4 places,
	// and must not make big.Rat build an enormous number.
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		exp, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil || exp > 40 || exp < -40 {
			if strings.Trim(s[:i], "-0.") == "" {
				return 0, nil // zero times any power of ten
			}
			if err == nil && exp < 0 {
				return 0, ErrMoneyPlaces
			}
			return 0, ErrMoneyRange
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, ErrMoneySyntax
	}
	r.Mul(r, big.NewRat(moneyScale, 1))
	if !r.IsInt() {
		return 0, ErrMoneyPlaces
	}
	n := r.Num()
	if n.CmpAbs(big.NewInt(moneyLimit)) >= 0 {
		return 0, ErrMoneyRange
	}
	return Money(n.Int64()), nil
}

// String writes m as a decimal number with no trailing zeros: "12.5", "-0.0001", "3".
func (m Money) String() string {
	neg := m < 0
	u := uint64(m)
	if neg {
		u = uint64(-m)
	}
	s := strconv.FormatUint(u/moneyScale, 10)
	if frac := u % moneyScale; frac != 0 {
		f := strconv.FormatUint(frac+moneyScale, 10)[1:] // zero-padded to 4 digits
		s += "." + strings.TrimRight(f, "0")
	}
	if neg {
		s = "-" + s
	}
	return s
}

// MarshalJSON writes the stored document form: a JSON string, so no decoder along the way
// turns the amount into a float.
func (m Money) MarshalJSON() ([]byte, error) { return strconv.AppendQuote(nil, m.String()), nil }

// UnmarshalJSON reads the stored document form.
func (m *Money) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		s = string(b)
	}
	v, err := ParseMoney(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// isJSONNumber reports whether s is a number literal as RFC 8259 defines it.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	start := i
	if n := digits(); n == 0 || (n > 1 && s[start] == '0') {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}
