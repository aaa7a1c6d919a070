"""Frontends turn one kind of model description into a cost graph; they know no chips."""
