"""Example greetings supporters may copy, in the person's own language (shown beside those in the page's language).

These are short, safe phrases (no names, places or politics: prison staff read the post).
"""

GREETINGS = {
    "en": ["You are not alone.", "We are thinking of you.", "Stay strong. We will keep writing."],
    "fr": ["Vous n'êtes pas seul·e.", "Nous pensons à vous.", "Courage, nous continuerons d'écrire."],
    "es": ["No estás sola, no estás solo.", "Pensamos en ti.", "Mucha fuerza. Seguiremos escribiendo."],
    "ar": ["لست وحدك.", "نحن نفكر فيك.", "نحن معك، وسنواصل الكتابة."],
    "pt": ["Você não está só.", "Estamos pensando em você.", "Força! Vamos continuar escrevendo."],
    "tr": ["Yalnız değilsin.", "Seni düşünüyoruz.", "Güçlü kal, yazmaya devam edeceğiz."],
}
