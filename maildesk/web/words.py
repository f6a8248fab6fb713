"""The status page's words, per desk language (Spanish first), and its date format."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

WORDS: dict[str, dict[str, str]] = {
    "es": {
        "help_desk": "Mesa de ayuda",
        "intro": "Para hacer una solicitud, escribe un correo a la dirección de soporte. "
        "Recibirás un número y un enlace privado para seguirla.",
        "lookup_title": "¿Perdiste tu enlace?",
        "lookup_intro": "Escribe el número de tu solicitud y tu correo. Si coinciden, te "
        "enviaremos el enlace privado a ese correo.",
        "number": "Número de solicitud",
        "email": "Tu correo",
        "send_link": "Enviarme el enlace",
        "lookup_sent_title": "Revisa tu correo",
        "lookup_sent": "Si el número y el correo corresponden a una solicitud, te enviamos el "
        "enlace a ese correo. Puede tardar unos minutos.",
        "back": "Volver",
        "state": "Estado",
        "priority": "Prioridad",
        "category": "Categoría",
        "opened": "Abierta",
        "handled_by": "A cargo de",
        "nobody_yet": "Por asignar",
        "timeline": "Historial",
        "you": "Tú",
        "participant": "Otro participante",
        "attachments": "Adjuntos",
        "reply_title": "Agregar información",
        "reply_text": "Tu mensaje",
        "reply_files": "Fotos o documentos (hasta {files} archivos de {mb} MB cada uno)",
        "reply_send": "Enviar",
        "reply_done": "Recibimos tu mensaje; quedó en el historial.",
        "reply_empty": "Escribe un mensaje o adjunta un archivo.",
        "reply_too_many": "Puedes adjuntar hasta {files} archivos de {mb} MB cada uno.",
        "validate_title": "¿Quedó resuelta?",
        "validate_intro": "El equipo marcó tu solicitud como resuelta. Confírmalo o dinos qué "
        "falta.",
        "confirm": "Sí, quedó resuelta",
        "reject_reason": "¿Qué falta? (opcional)",
        "reject": "No, sigue el problema",
        "confirmed": "Gracias por confirmar. Cerramos la solicitud.",
        "rejected": "Reabrimos tu solicitud y avisamos al equipo.",
        "not_in_validation": "La solicitud ya no espera tu confirmación.",
        "rate_title": "Califica la atención",
        "rate_legend": "¿Cómo fue la atención? (1 = muy mala, 5 = excelente)",
        "rate_comment": "Comentario (opcional)",
        "rate_send": "Enviar calificación",
        "rated": "Gracias por tu calificación.",
        "already_rated": "Ya calificaste esta solicitud: {rating} de 5.",
        "rate_invalid": "Elige una calificación de 1 a 5.",
        "not_found_title": "No encontramos esta página",
        "not_found": "El enlace no es válido o ya no está vigente. Puedes pedir uno nuevo.",
        "bad_request_title": "No pudimos procesar el formulario",
        "bad_request": "El formulario expiró o no es válido. Vuelve a la página e inténtalo "
        "de nuevo.",
        "too_many_title": "Demasiados intentos",
        "too_many": "Hiciste demasiadas solicitudes. Espera un rato e inténtalo de nuevo.",
        "too_large_title": "Archivos demasiado grandes",
        "too_large": "Puedes adjuntar hasta {files} archivos de {mb} MB cada uno.",
        "priority_alta": "Alta",
        "priority_media": "Media",
        "priority_baja": "Baja",
    },
    "en": {
        "help_desk": "Help desk",
        "intro": "To make a request, write to the support address. You will get a number and "
        "a private link to follow it.",
        "lookup_title": "Lost your link?",
        "lookup_intro": "Enter your request number and your email. If they match, we will "
        "send the private link to that address.",
        "number": "Request number",
        "email": "Your email",
        "send_link": "Send me the link",
        "lookup_sent_title": "Check your email",
        "lookup_sent": "If the number and the email belong to a request, we sent the link to "
        "that address. It may take a few minutes.",
        "back": "Back",
        "state": "State",
        "priority": "Priority",
        "category": "Category",
        "opened": "Opened",
        "handled_by": "Handled by",
        "nobody_yet": "Not assigned yet",
        "timeline": "Timeline",
        "you": "You",
        "participant": "Another participant",
        "attachments": "Attachments",
        "reply_title": "Add information",
        "reply_text": "Your message",
        "reply_files": "Photos or documents (up to {files} files of {mb} MB each)",
        "reply_send": "Send",
        "reply_done": "We received your message; it is in the timeline.",
        "reply_empty": "Write a message or attach a file.",
        "reply_too_many": "You can attach up to {files} files of {mb} MB each.",
        "validate_title": "Is it solved?",
        "validate_intro": "The team marked your request as resolved. Confirm it or tell us "
        "what is missing.",
        "confirm": "Yes, it is solved",
        "reject_reason": "What is still missing? (optional)",
        "reject": "No, the problem remains",
        "confirmed": "Thank you for confirming. The request is closed.",
        "rejected": "We reopened your request and told the team.",
        "not_in_validation": "The request is no longer awaiting your confirmation.",
        "rate_title": "Rate the service",
        "rate_legend": "How was the service? (1 = very poor, 5 = excellent)",
        "rate_comment": "Comment (optional)",
        "rate_send": "Send rating",
        "rated": "Thank you for your rating.",
        "already_rated": "You already rated this request: {rating} out of 5.",
        "rate_invalid": "Choose a rating from 1 to 5.",
        "not_found_title": "Page not found",
        "not_found": "The link is not valid or no longer in use. You can ask for a new one.",
        "bad_request_title": "We could not process the form",
        "bad_request": "The form expired or is not valid. Go back to the page and try again.",
        "too_many_title": "Too many attempts",
        "too_many": "You made too many requests. Wait a while and try again.",
        "too_large_title": "Files too large",
        "too_large": "You can attach up to {files} files of {mb} MB each.",
        "priority_alta": "High",
        "priority_media": "Medium",
        "priority_baja": "Low",
    },
}


def local_datetime(moment: datetime, *, timezone: str, language: str) -> str:
    """A date and time in the desk's timezone, written the way the desk's language does."""
    local = moment.astimezone(ZoneInfo(timezone))
    day = format_date(local, format="medium", locale=language)
    return f"{day}, {format_time(local, format='short', locale=language)}"
