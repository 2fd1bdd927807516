package postgres

// SetWindow sets how many users a search scans before it asks an index, and returns
// the function that puts it back.
func SetWindow(n int) (restore func()) {
	old := window
	window = n
	return func() { window = old }
}

// GramsOf returns the user_grams rows of a user, for seeding a database by COPY.
func GramsOf(username, nameLower string) (grams []string, prefix []bool) {
	return gramsOf(username, nameLower).arrays()
}
