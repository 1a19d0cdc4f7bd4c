"""Cross-cutting code every CRM service builds on; importing it connects to nothing."""
