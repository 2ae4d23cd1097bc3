package sqlite

// SetRequestLogIndexAfter sets how many records wait for the request log's index by
// customer before the writer adds them, so that a test reaches it with a few records.
func SetRequestLogIndexAfter(s *Store, n int64) { s.requests.indexAfter = n }
