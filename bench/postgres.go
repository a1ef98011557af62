package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/db"
)

// postgresAppends is the figure of several replicas on PostgreSQL: durable
// audit appends a second from one replica (its own pool) and from two at
// once (two pools, as two processes would have), each against bare
// single-row INSERTs of the same width on the same server, sent the same
// way (one loop per replica, each statement committed). The database at
// dsn gets two tables of its own and the dashboard's schema; it should be
// a scratch database.
func postgresAppends(dsn string, n int) ([]row, error) {
	ctx := context.Background()
	var rows []row
	var bareOne float64
	for _, replicas := range []int{1, 2} {
		stores := make([]*db.DB, replicas)
		for i := range stores {
			d, err := db.Open(ctx, dsn)
			if err != nil {
				return nil, err
			}
			defer d.Close()
			stores[i] = d
		}
		ours, err := timed(replicas, n, func(r, i int) error {
			log := audit.New(stores[r].Write, stores[r].Read, nil)
			log.SetReplica(fmt.Sprintf("bench-%d", r))
			_, err := log.Append(ctx, audit.Event{Action: audit.ActionStartInstance, User: "bench", Region: "cn-hangzhou",
				InstanceID: "i-bp1g6zv0ce8oghu7k4m2", State: audit.StateSucceeded, RequestID: "C0003E8B-B930-4F59-ADC0-0E20ABCDEF12", HTTPStatus: 200})
			return err
		})
		if err != nil {
			return nil, err
		}
		// The reference: the same rows, of the same width, into a table
		// with the audit log's columns and its primary key only (no chain
		// lock, no hash, no fold into audit_ops, no other index).
		cols, vals, err := sampleRow(ctx, stores[0])
		if err != nil {
			return nil, err
		}
		if _, err := stores[0].Write.Exec(`DROP TABLE IF EXISTS bare; CREATE TABLE bare (LIKE audit_events); ALTER TABLE bare ADD PRIMARY KEY (seq)`); err != nil {
			return nil, err
		}
		insert := "INSERT INTO bare (" + strings.Join(cols, ", ") + ") VALUES (" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
		var seq atomic.Int64
		bare, err := timed(replicas, n, func(r, i int) error {
			row := append([]any{seq.Add(1)}, vals[1:]...)
			_, err := stores[r].Write.Exec(insert, row...)
			return err
		})
		if err != nil {
			return nil, err
		}
		if _, n, err := audit.Verify(ctx, stores[0].Read, nil); err != nil {
			return nil, fmt.Errorf("the chain after the appends: %w (%d entries)", err, n)
		}
		if replicas == 1 {
			bareOne = bare
			rows = append(rows, row{fmt.Sprintf("PostgreSQL: durable audit appends from one replica, %d sequential", n), fmt.Sprintf("%.0f events/s", ours),
				fmt.Sprintf("bare single-row INSERT of the same rows (same width, primary key only), same server: %.0f rows/s", bare),
				fmt.Sprintf("%.0f%% (target ≥ 60%%)", 100*ours/bare)})
			continue
		}
		rows = append(rows, row{fmt.Sprintf("PostgreSQL: durable audit appends from two replicas at once, %d sequential each", n), fmt.Sprintf("%.0f events/s", ours),
			fmt.Sprintf("the same bare INSERTs from two loops at once: %.0f rows/s (from one: %.0f)", bare, bareOne),
			fmt.Sprintf("%.0f%% of two bare loops, %.0f%% of one (target ≥ 60%%)", 100*ours/bare, 100*ours/bareOne)})
	}
	return rows, nil
}

// timed runs n calls of f in each of loops goroutines and returns the calls
// a second, all loops together.
func timed(loops, n int, f func(loop, i int) error) (float64, error) {
	var wg sync.WaitGroup
	errs := make(chan error, loops)
	t0 := time.Now()
	for r := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				if err := f(r, i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(loops*n) / time.Since(t0).Seconds(), nil
}

// sampleRow is the newest audit entry's columns and values, as stored.
func sampleRow(ctx context.Context, d *db.DB) ([]string, []any, error) {
	rows, err := d.Read.QueryContext(ctx, "SELECT * FROM audit_events ORDER BY seq DESC LIMIT 1")
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, nil, err
	}
	if !rows.Next() {
		return nil, nil, fmt.Errorf("no audit entry to copy")
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, nil, err
	}
	if cols[0] != "seq" {
		return nil, nil, fmt.Errorf("audit_events begins with %s, not seq", cols[0])
	}
	for i, c := range cols {
		cols[i] = `"` + c + `"`
	}
	return cols, vals, rows.Err()
}
