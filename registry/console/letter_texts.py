"""The pickup letter's texts in every language the citizen can choose.

The languages are those of the kiosk's screens and of the messages
(``registry.messages.contacts.LANGUAGES``); tests/console/test_console_letter.py
fails when one is missing here, when a text is missing or left in English,
and when the font lacks a character.

Tone: a German official letter, short and plain, formal address (Sie, siz,
Państwo, вы). Languages that decline nouns name the document in
parentheses after their own word for "document" ("Ваш документ (паспорт)"),
as the messages do, so no case ending is needed. The words for the box
follow the messages' catalogs (registry/messages/locale), so the letter and
the e-mail speak of the same thing. "Bürgerbüro" stays German beside the
translation where the citizen will see it on the office's door.
"""

from __future__ import annotations

KINDS: dict[str, dict[str, str]] = {
    "de": {"id_card": "Personalausweis", "passport": "Reisepass",
           "child_passport": "Kinderreisepass", "residence_permit": "Aufenthaltstitel",
           "other": "Dokument"},
    "en": {"id_card": "identity card", "passport": "passport",
           "child_passport": "child's passport", "residence_permit": "residence permit",
           "other": "document"},
    "tr": {"id_card": "kimlik kartı", "passport": "pasaport",
           "child_passport": "çocuk pasaportu", "residence_permit": "oturma izni",
           "other": "belge"},
    "pl": {"id_card": "dowód osobisty", "passport": "paszport",
           "child_passport": "paszport dziecięcy", "residence_permit": "dokument pobytowy",
           "other": "dokument"},
    "ru": {"id_card": "ID-карта", "passport": "паспорт",
           "child_passport": "детский паспорт", "residence_permit": "вид на жительство",
           "other": "документ"},
    "uk": {"id_card": "ID-картка", "passport": "паспорт",
           "child_passport": "дитячий паспорт", "residence_permit": "посвідка на проживання",
           "other": "документ"},
    "ar": {"id_card": "بطاقة الهوية", "passport": "جواز السفر",
           "child_passport": "جواز سفر الطفل", "residence_permit": "تصريح الإقامة",
           "other": "مستند"},
}

TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "subject": "Ihr {kind} liegt zur Abholung bereit",
        "reference": "Vorgang",
        "date": "Datum",
        "salutation": "Guten Tag,",
        "intro": ("Ihr {kind} kann an unserer Abholstation abgeholt werden. Halten Sie dort"
                  " den QR-Code unten vor den Scanner oder tippen Sie den Abholcode ein, und"
                  " geben Sie dann Ihre PIN ein. Die PIN erhalten Sie getrennt von diesem Brief."),
        "code": "Abholcode",
        "deadline": "Abholen bis",
        "deadline_unknown": ("14 Tage ab Einlage des Dokuments; wir benachrichtigen Sie, sobald"
                             " es in der Station liegt."),
        "where": "Abholstation",
        "where_unknown": "Bitte erfragen Sie den Standort im Bürgerbüro.",
        "hours": "Geöffnet",
        "hours_unknown": "rund um die Uhr",
        "bring": "Bitte mitbringen",
        "bring_text": ("diesen Brief (oder den Abholcode) und Ihre PIN; Ihren bisherigen Ausweis"
                       " oder Pass, falls Sie einen haben"),
        "pin_letter": ("Bei der Abholung bestätigen Sie an der Station, dass Sie den PIN-Brief"
                       " zu Ihrem Ausweis erhalten haben."),
        "late": ("Wird das Dokument nicht rechtzeitig abgeholt, geht es an den Schalter des"
                 " Bürgerbüros zurück; dort können Sie es zu den Öffnungszeiten abholen."),
        "closing": "Mit freundlichen Grüßen\nIhr Bürgerbüro",
        "qr_caption": "QR-Code zum Abholen",
    },
    "en": {
        "subject": "Your {kind} is ready for collection",
        "reference": "Reference",
        "date": "Date",
        "salutation": "Hello,",
        "intro": ("Your {kind} can be collected at our pickup box. Hold the QR code below in"
                  " front of the scanner or type the pickup code, then enter your PIN. You"
                  " receive the PIN separately from this letter."),
        "code": "Pickup code",
        "deadline": "Collect by",
        "deadline_unknown": ("14 days after the document is placed in the box; we will tell you"
                             " as soon as it is there."),
        "where": "Pickup box",
        "where_unknown": "Please ask the citizens' office where the box is.",
        "hours": "Open",
        "hours_unknown": "around the clock",
        "bring": "Please bring",
        "bring_text": ("this letter (or the pickup code) and your PIN; your current identity"
                       " card or passport, if you have one"),
        "pin_letter": ("When collecting, you confirm at the box that you have received the PIN"
                       " letter for your identity card."),
        "late": ("If the document is not collected in time, it goes back to the counter of the"
                 " citizens' office, where you can collect it during opening hours."),
        "closing": "Kind regards\nYour citizens' office",
        "qr_caption": "QR code for collection",
    },
    "tr": {
        "subject": "Belgeniz ({kind}) teslim almaya hazır",
        "reference": "Dosya numarası",
        "date": "Tarih",
        "salutation": "Sayın ilgili,",
        "intro": ("Belgenizi ({kind}) teslim terminalimizden alabilirsiniz. Aşağıdaki QR kodunu"
                  " terminalin tarayıcısına tutun veya teslim alma kodunu girin, ardından PIN"
                  " kodunuzu girin. PIN kodunuz size bu mektuptan ayrı olarak gönderilir."),
        "code": "Teslim alma kodu",
        "deadline": "Son teslim alma",
        "deadline_unknown": ("belge terminale konduktan sonra 14 gün; belge terminale"
                             " konduğunda size haber veririz."),
        "where": "Teslim terminali",
        "where_unknown": "Terminalin yerini lütfen vatandaş bürosuna (Bürgerbüro) sorun.",
        "hours": "Açık",
        "hours_unknown": "günün her saati",
        "bring": "Lütfen getirin",
        "bring_text": ("bu mektubu (veya teslim alma kodunu) ve PIN kodunuzu; varsa mevcut"
                       " kimlik kartınızı veya pasaportunuzu"),
        "pin_letter": ("Teslim alırken terminalde, belgenizin PIN mektubunu aldığınızı"
                       " onaylarsınız."),
        "late": ("Belge zamanında teslim alınmazsa vatandaş bürosunun (Bürgerbüro) gişesine"
                 " geri gönderilir; orada çalışma saatlerinde teslim alabilirsiniz."),
        "closing": "Saygılarımızla\nVatandaş bürosu (Bürgerbüro)",
        "qr_caption": "Teslim alma için QR kodu",
    },
    "pl": {
        "subject": "Dokument ({kind}) jest gotowy do odbioru",
        "reference": "Numer sprawy",
        "date": "Data",
        "salutation": "Szanowni Państwo,",
        "intro": ("Dokument ({kind}) można odebrać w naszym terminalu wydawczym. Prosimy"
                  " przyłożyć poniższy kod QR do skanera lub wpisać kod odbioru, a następnie"
                  " podać PIN. PIN otrzymują Państwo oddzielnie od tego pisma."),
        "code": "Kod odbioru",
        "deadline": "Odbiór do",
        "deadline_unknown": ("14 dni od umieszczenia dokumentu w terminalu; powiadomimy"
                             " Państwa, gdy tylko tam będzie."),
        "where": "Terminal wydawczy",
        "where_unknown": "Prosimy zapytać o położenie terminalu w urzędzie (Bürgerbüro).",
        "hours": "Czynny",
        "hours_unknown": "całą dobę",
        "bring": "Prosimy zabrać",
        "bring_text": ("to pismo (lub kod odbioru) i PIN; dotychczasowy dowód osobisty lub"
                       " paszport, jeśli go Państwo mają"),
        "pin_letter": ("Przy odbiorze potwierdzają Państwo w terminalu otrzymanie listu z kodem"
                       " PIN do dokumentu."),
        "late": ("Dokument nieodebrany w terminie wraca do okienka urzędu (Bürgerbüro); tam"
                 " można go odebrać w godzinach otwarcia."),
        "closing": "Z poważaniem\nUrząd (Bürgerbüro)",
        "qr_caption": "Kod QR do odbioru",
    },
    "ru": {
        "subject": "Ваш документ ({kind}) готов к получению",
        "reference": "Номер дела",
        "date": "Дата",
        "salutation": "Здравствуйте!",
        "intro": ("Ваш документ ({kind}) можно получить в нашем терминале выдачи. Поднесите"
                  " QR-код ниже к сканеру или введите код получения, затем введите ваш"
                  " PIN-код. PIN-код вы получаете отдельно от этого письма."),
        "code": "Код получения",
        "deadline": "Получить до",
        "deadline_unknown": ("14 дней с момента, когда документ положат в терминал; мы сообщим"
                             " вам, как только он будет там."),
        "where": "Терминал выдачи",
        "where_unknown": "Пожалуйста, узнайте адрес терминала в ведомстве (Bürgerbüro).",
        "hours": "Работает",
        "hours_unknown": "круглосуточно",
        "bring": "Возьмите с собой",
        "bring_text": ("это письмо (или код получения) и PIN-код; ваше прежнее удостоверение"
                       " личности или паспорт, если он у вас есть"),
        "pin_letter": ("При получении вы подтверждаете в терминале, что получили письмо с"
                       " PIN-кодом к вашему документу."),
        "late": ("Если документ не получен вовремя, он возвращается в окно ведомства"
                 " (Bürgerbüro); там его можно получить в часы работы."),
        "closing": "С уважением\nВедомство (Bürgerbüro)",
        "qr_caption": "QR-код для получения",
    },
    "uk": {
        "subject": "Ваш документ ({kind}) готовий до отримання",
        "reference": "Номер справи",
        "date": "Дата",
        "salutation": "Добрий день!",
        "intro": ("Ваш документ ({kind}) можна отримати в нашому терміналі видачі. Піднесіть"
                  " QR-код нижче до сканера або введіть код отримання, потім введіть ваш"
                  " PIN-код. PIN-код ви отримуєте окремо від цього листа."),
        "code": "Код отримання",
        "deadline": "Отримати до",
        "deadline_unknown": ("14 днів з моменту, коли документ покладуть у термінал; ми"
                             " повідомимо вас, щойно він буде там."),
        "where": "Термінал видачі",
        "where_unknown": "Будь ласка, дізнайтеся адресу термінала в установі (Bürgerbüro).",
        "hours": "Працює",
        "hours_unknown": "цілодобово",
        "bring": "Візьміть із собою",
        "bring_text": ("цей лист (або код отримання) і PIN-код; ваше попереднє посвідчення"
                       " особи або паспорт, якщо він у вас є"),
        "pin_letter": ("Під час отримання ви підтверджуєте в терміналі, що отримали лист із"
                       " PIN-кодом до вашого документа."),
        "late": ("Якщо документ не отримано вчасно, він повертається до віконця установи"
                 " (Bürgerbüro); там його можна отримати в години роботи."),
        "closing": "З повагою\nУстанова (Bürgerbüro)",
        "qr_caption": "QR-код для отримання",
    },
    # Brackets print the right way round: kiosk.ui.shaping mirrors them in
    # right-to-left runs (tests/console/test_console_letter.py checks).
    "ar": {
        "subject": "مستندك جاهز للاستلام: {kind}",
        "reference": "رقم المعاملة",
        "date": "التاريخ",
        "salutation": "تحية طيبة،",
        "intro": ("يمكنك استلام مستندك، {kind}، من جهاز التسليم لدينا. ضع رمز QR أدناه أمام"
                  " الماسح الضوئي أو اكتب رمز الاستلام، ثم أدخل رقمك السري PIN. يصلك الرقم"
                  " السري بشكل منفصل عن هذه الرسالة."),
        "code": "رمز الاستلام",
        "deadline": "الاستلام حتى",
        "deadline_unknown": "14 يومًا من وضع المستند في الجهاز؛ سنبلغك فور وصوله إليه.",
        "where": "جهاز التسليم",
        "where_unknown": "يرجى السؤال عن مكان الجهاز في مكتب المواطنين (Bürgerbüro).",
        "hours": "مفتوح",
        "hours_unknown": "على مدار الساعة",
        "bring": "يرجى إحضار",
        "bring_text": ("هذه الرسالة (أو رمز الاستلام) ورقمك السري؛ وبطاقة هويتك أو جواز سفرك"
                       " الحالي إن وجد"),
        "pin_letter": "عند الاستلام تؤكد في الجهاز أنك استلمت رسالة الرقم السري الخاصة بمستندك.",
        "late": ("إذا لم يُستلم المستند في الموعد، يعاد إلى شباك مكتب المواطنين (Bürgerbüro)،"
                 " ويمكنك استلامه هناك خلال ساعات العمل."),
        "closing": "مع خالص التحية\nمكتب المواطنين – Bürgerbüro",
        "qr_caption": "رمز QR للاستلام",
    },
}
