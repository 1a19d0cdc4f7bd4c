"""Messages of the libraries whose errors we render (werkzeug's HTTP errors, pydantic's field errors),
marked here so that ``make messages`` extracts them into the platform's catalog like our own."""

from crm_platform.errors import msgid

WERKZEUG = (
    msgid("Bad Request"),
    msgid("The browser (or proxy) sent a request that this server could not understand."),
    msgid("Not Found"),
    msgid(
        "The requested URL was not found on the server. If you entered the URL manually please check your "
        "spelling and try again."
    ),
    msgid("Method Not Allowed"),
    msgid("The method is not allowed for the requested URL."),
    msgid("Not Acceptable"),
    msgid("Precondition Failed"),
    msgid("Request Entity Too Large"),
    msgid("The data value transmitted exceeds the capacity limit."),
    msgid("Unsupported Media Type"),
    msgid("The server does not support the media type transmitted in the request."),
    msgid("Too Many Requests"),
)

PYDANTIC = (
    msgid("Field required"),
    msgid("Input should be a valid string"),
    msgid("Input should be a valid integer"),
    msgid("Input should be a valid integer, unable to parse string as an integer"),
    msgid("Input should be a valid number"),
    msgid("Input should be a valid number, unable to parse string as a number"),
    msgid("Input should be a valid boolean"),
    msgid("Input should be a valid boolean, unable to interpret input"),
    msgid("Input should be a valid list"),
    msgid("Input should be a valid dictionary"),
    msgid("Input should be a valid dictionary or instance of {class_name}"),
    msgid("Extra inputs are not permitted"),
    msgid("Input should be {expected}"),
    msgid("Invalid JSON: {error}"),
    msgid("Value error, {error}"),
    msgid("Input should be greater than {gt}"),
    msgid("Input should be greater than or equal to {ge}"),
    msgid("Input should be less than {lt}"),
    msgid("Input should be less than or equal to {le}"),
    msgid("String should have at least {min_length} character{expected_plural}"),
    msgid("String should have at most {max_length} character{expected_plural}"),
    msgid("String should match pattern '{pattern}'"),
    msgid("{field_type} should have at least {min_length} item{expected_plural} after validation, not {actual_length}"),
    msgid("{field_type} should have at most {max_length} item{expected_plural} after validation, not {actual_length}"),
    msgid("Input should be a valid UUID, {error}"),
    msgid("Input should be a valid date or datetime, {error}"),
    msgid("Input should be a valid datetime, {error}"),
    msgid("Input should be a valid datetime or date, {error}"),
    msgid("Input should be a valid date in the format YYYY-MM-DD, {error}"),
)
