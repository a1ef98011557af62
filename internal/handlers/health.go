package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

func (a *App) healthz(c echo.Context) error { return c.String(http.StatusOK, "ok\n") }

// readyz answers 200 only when the database and ECS answer.
func (a *App) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		a.log.Warn("not ready: database", "request_id", requestID(c), "err", err)
		return c.String(http.StatusServiceUnavailable, "database unavailable\n")
	}
	if err := a.fleet.Ready(); err != nil {
		a.log.Warn("not ready: ecs", "request_id", requestID(c), "err", err)
		return c.String(http.StatusServiceUnavailable, "ECS unavailable\n")
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
