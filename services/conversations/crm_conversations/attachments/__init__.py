"""Files a member sends with a message: uploaded first, then named by the message; mailed by reference."""
