package handlers

import "github.com/labstack/echo/v4"

// EchoOf lets a test add routes (such as one that panics) to the real router.
func EchoOf(s *Server) *echo.Echo { return s.echo }
