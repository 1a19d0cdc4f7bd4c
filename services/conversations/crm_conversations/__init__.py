"""The conversations service: email and website-chat conversations with contacts."""
