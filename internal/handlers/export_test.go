package handlers

import (
	"context"

	"github.com/labstack/echo/v4"
)

// EchoOf lets a test add routes (such as one that panics) to the real router.
func EchoOf(s *Server) *echo.Echo { return s.echo }

// ExpireDue runs the expiry ticker's work once.
func ExpireDue(s *Server, ctx context.Context) error { return s.app.starts.ExpireDue(ctx) }
