package db

// NowMillis is SQL for the database's clock in milliseconds since 1970:
// what leases that span replicas compare, never a host's clock.
func (d Dialect) NowMillis() string {
	if d == Postgres {
		return "(extract(epoch from clock_timestamp()) * 1000)::bigint"
	}
	return "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
}
