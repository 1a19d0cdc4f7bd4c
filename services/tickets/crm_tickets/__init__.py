"""The tickets service: incidents tied to a contact, with public comments and private notes."""
