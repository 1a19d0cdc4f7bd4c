"""The outputs of a ``Report`` (JSON, CSV, SVG charts, an HTML page), made from the one object; imports no feature.

``localize`` first puts the labels in the caller's language; every renderer then takes the localized report, so
the four outputs always say the same thing in the same words."""
