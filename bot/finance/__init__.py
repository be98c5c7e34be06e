"""Finance services: catalog import, installment engine (APR by IRR), quotes, aftercare offers."""
