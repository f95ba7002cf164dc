"""Server-rendered pages for owners and staff: templates, languages, CSRF, security headers, rate limits."""
