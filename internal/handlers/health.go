package handlers

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

func (a *App) healthz(c echo.Context) error { return c.String(http.StatusOK, "ok\n") }

// How long /readyz waits for its write, and how long the write may take
// before it is given up (SQLite's busy timeout is 5 s).
const (
	readyWait  = 2 * time.Second
	probeLimit = 6 * time.Second
)

// readyz answers 200 when this replica can serve and record a start: its
// database accepts a write, within readyWait. ECS is not asked: it is
// shared by every replica, so a load balancer cannot route around it, and
// draining them all would only add an outage; its trouble shows on the
// pages and in /metrics. One write check runs at a time, so a stuck
// database does not pile them up.
func (a *App) readyz(c echo.Context) error {
	if !a.probing.TryLock() {
		a.log.Warn("not ready: database", "request_id", requestID(c), "err", "the previous write check has not finished")
		return c.String(http.StatusServiceUnavailable, "database: the previous write check has not finished\n")
	}
	done := make(chan error, 1)
	go func() {
		defer a.probing.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), probeLimit)
		defer cancel()
		done <- a.store.Probe(ctx)
	}()
	wait := time.NewTimer(readyWait)
	defer wait.Stop()
	var err error
	select {
	case err = <-done:
	case <-wait.C:
		err = fmt.Errorf("no write within %s", readyWait)
	case <-c.Request().Context().Done():
		return nil
	}
	if err != nil {
		a.log.Warn("not ready: database", "request_id", requestID(c), "err", err)
		return c.String(http.StatusServiceUnavailable, "database: it does not accept a write, so starts cannot be recorded\n")
	}
	return c.String(http.StatusOK, "ready\n")
}

// asset serves an embedded file under its content-hashed name: the name
// changes whenever the content does, so it may be cached forever.
func (a *App) asset(c echo.Context) error {
	as, ok := a.assets.ByHashed(c.Param("name"))
	if !ok {
		return echo.ErrNotFound
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	return c.Blob(http.StatusOK, as.ContentType, as.Body)
}
