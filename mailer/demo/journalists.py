"""The demo journalists: about sixty synthetic contacts, generated the same way every time.

Each country desk names its people (in the script their names are written in), its outlets and
the rotations its people take their reading languages and time zones from; outlets, beats,
roles and tags are handed out by position, so the result is varied but never random. Every
address is on a reserved domain (``example.com``/``.net``/``.org``, ``*.example``, ``*.test``):
nothing here can reach a real mailbox.

A few people are set apart on purpose: three read only languages the demo release is not
translated into (so the language coverage check has something to say), two asked not to be
tracked, and one has unsubscribed (their address is on the suppression list).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

CENTRAL_ASIA = "Central Asia press"
INTERNATIONAL = "International desks"
LISTS: dict[str, str] = {
    CENTRAL_ASIA: "Demo data: reporters and editors in Kazakhstan, Kyrgyzstan, Tajikistan and "
                  "Uzbekistan.",
    INTERNATIONAL: "Demo data: correspondents in Poland, Russia and international newsrooms.",
}
DEMO_TAG = "demo"
FREELANCE_DOMAIN = "example.com"

BEATS = ("human rights", "politics", "media freedom", "society", "law and courts",
         "investigations", "foreign affairs", "digital rights")
ROLES = ("reporter", "editor", "correspondent", "producer", "columnist")
NO_TRACKING_NOTE = "Asked not to be tracked: no open pixel, no rewritten links."
UNSUBSCRIBED_NOTE = "Unsubscribed from the press list (demo)."


class Outlet(NamedTuple):
    """A (fictional) outlet: its name, its mail domain and its medium (a tag)."""

    name: str
    domain: str
    medium: str


class Person(NamedTuple):
    """One row of a desk; empty or None fields take the desk's rotation."""

    first_name: str
    last_name: str
    handle: str  # the local part of the address
    languages: tuple[str, ...] = ()
    timezone: str = ""
    lists: tuple[str, ...] = ()
    tracking: bool = True
    suppressed: bool = False


@dataclass(frozen=True)
class Desk:
    """The journalists of one country, with the rotations they are generated from."""

    country: str
    outlets: tuple[Outlet, ...]
    languages: tuple[tuple[str, ...], ...]
    timezones: tuple[str, ...]
    lists: tuple[str, ...]
    people: tuple[Person, ...]


@dataclass(frozen=True)
class DemoJournalist:
    """One generated journalist, ready for the contacts service."""

    email: str
    first_name: str
    last_name: str
    outlet: str
    beat: str
    role: str
    country: str
    languages: tuple[str, ...]
    timezone: str
    tags: tuple[str, ...]
    lists: tuple[str, ...]
    tracking: bool = True
    suppressed: bool = False
    notes: str = ""

    def values(self) -> dict[str, Any]:
        """The contact's fields by the API's names (lists are given separately, by id)."""
        return {
            "email": self.email, "first_name": self.first_name, "last_name": self.last_name,
            "outlet": self.outlet, "beat": self.beat, "role": self.role,
            "country": self.country, "language": self.languages[0],
            "languages": list(self.languages), "timezone": self.timezone,
            "tags": list(self.tags), "tracking": self.tracking, "notes": self.notes,
        }


DESKS: tuple[Desk, ...] = (
    Desk(
        country="KZ",
        outlets=(Outlet("Steppe Wire", "steppe-wire.example", "online"),
                 Outlet("Qazaq Business Review", "qbr.example", "print"),
                 Outlet("Алатау жаңалықтары", "алатау.example", "tv"),
                 Outlet("Жетісу радиосы", "zhetisu-radio.test", "radio")),
        languages=(("kk", "ru"), ("ru", "kk"), ("kk",), ("ru", "en")),
        timezones=("Asia/Almaty", "Asia/Almaty", "Asia/Almaty", "Asia/Aqtobe"),
        lists=(CENTRAL_ASIA,),
        people=(
            Person("Айгерім", "Сейітқызы", "aigerim.seitkyzy"),
            Person("Дәурен", "Әбдіков", "dauren.abdikov"),
            Person("Сәуле", "Омарова", "сәуле.омарова"),
            Person("Ольга", "Ким", "olga.kim"),
            Person("Ерлан", "Нұрмағамбетов", "erlan.nurmagambetov"),
            Person("Жанар", "Бекова", "zhanar.bekova"),
            Person("Бауыржан", "Тоқтаров", "baurzhan.toktarov"),
            Person("Дмитрий", "Соколов", "dmitry.sokolov"),
            Person("Динара", "Есімова", "dinara.yessimova"),
            Person("Мұрат", "Әлиев", "murat.aliyev"),
            Person("Әсел", "Қасымова", "assel.kassymova"),
            Person("Татьяна", "Гринь", "tatyana.grin"),
        ),
    ),
    Desk(
        country="KG",
        outlets=(Outlet("Ала-Тоо Пресс", "alatoo-press.example", "online"),
                 Outlet("Bishkek Evening", "bishkek-evening.test", "print"),
                 Outlet("Нарын ТВ", "naryn-tv.example", "tv")),
        languages=(("ky", "ru"), ("ru", "ky"), ("ky",)),
        timezones=("Asia/Bishkek",),
        lists=(CENTRAL_ASIA,),
        people=(
            Person("Айбек", "Осмонов", "aibek.osmonov"),
            Person("Елена", "Павленко", "elena.pavlenko"),
            Person("Нургүл", "Токтогулова", "nurgul.toktogulova"),
            Person("Бакыт", "Жумабеков", "bakyt.zhumabekov"),
            Person("Жылдыз", "Асанова", "zhyldyz.asanova"),
            Person("Азамат", "Сыдыков", "azamat.sydykov"),
            Person("Чолпон", "Абдыкалыкова", "cholpon.abdykalykova"),
            Person("Эрмек", "Бейшеналиев", "ermek.beishenaliev"),
        ),
    ),
    Desk(
        country="TJ",
        outlets=(Outlet("Садои Помир", "sadoi-pomir.example", "radio"),
                 Outlet("Dushanbe Courier", "dushanbe-courier.test", "online"),
                 Outlet("Ахбори Суғд", "akhbori-sughd.example", "print")),
        languages=(("tg", "ru"), ("tg",), ("ru", "tg")),
        timezones=("Asia/Dushanbe",),
        lists=(CENTRAL_ASIA,),
        people=(
            Person("Фарзона", "Раҳимова", "farzona.rahimova"),
            Person("Ҷамшед", "Шарипов", "jamshed.sharipov"),
            Person("Мадина", "Назарова", "madina.nazarova"),
            Person("Рустам", "Каримов", "rustam.karimov"),
            Person("Шаҳло", "Султонова", "shahlo.sultonova"),
            Person("Баҳодур", "Давлатов", "bahodur.davlatov"),
            Person("Зарина", "Ҳакимова", "zarina.hakimova"),
            Person("Комрон", "Саидов", "komron.saidov"),
            Person("Нилуфар", "Мирзоева", "nilufar.mirzoeva"),
        ),
    ),
    Desk(
        country="UZ",
        outlets=(Outlet("Toshkent Kuryeri", "toshkent-kuryeri.example", "print"),
                 Outlet("Samarqand Ovozi", "samarqand-ovozi.test", "radio"),
                 Outlet("Fargʻona Media", "fargona-media.example", "online")),
        languages=(("uz", "ru"), ("uz",), ("ru", "uz")),
        timezones=("Asia/Tashkent", "Asia/Samarkand"),
        lists=(CENTRAL_ASIA,),
        people=(
            Person("Dilnoza", "Yusupova", "dilnoza.yusupova"),
            Person("Jasur", "Toshmatov", "jasur.toshmatov"),
            Person("Malika", "Rahimova", "malika.rahimova"),
            Person("Sherzod", "Qodirov", "sherzod.qodirov"),
            Person("Gulnora", "Ismoilova", "gulnora.ismoilova"),
            Person("Otabek", "Nazarov", "otabek.nazarov"),
            Person("Nodira", "Xolmatova", "nodira.xolmatova"),
            Person("Bekzod", "Ergashev", "bekzod.ergashev"),
        ),
    ),
    Desk(
        country="PL",
        outlets=(Outlet("Kurier Wschodni", "kurier-wschodni.example", "print"),
                 Outlet("Tygodnik Horyzont", "horyzont.test", "print"),
                 Outlet("Radio Pogranicze", "pogranicze.example", "radio")),
        languages=(("pl", "en"), ("pl",), ("pl", "ru")),
        timezones=("Europe/Warsaw",),
        lists=(INTERNATIONAL,),
        people=(
            Person("Katarzyna", "Wiśniewska", "k.wisniewska"),
            Person("Tomasz", "Zieliński", "t.zielinski"),
            Person("Agnieszka", "Kowalczyk", "a.kowalczyk"),
            Person("Paweł", "Nowicki", "p.nowicki", tracking=False),
            Person("Magdalena", "Wójcik", "magdalena.wojcik"),
            Person("Krzysztof", "Lewandowski", "k.lewandowski"),
        ),
    ),
    Desk(
        country="RU",
        outlets=(Outlet("Вечерний вестник", "vestnik.example", "print"),
                 Outlet("Сибирская панорама", "sib-panorama.test", "online"),
                 Outlet("Радио Волга", "radio-volga.example", "radio")),
        languages=(("ru",), ("ru", "en")),
        timezones=("Europe/Moscow", "Asia/Novosibirsk", "Europe/Samara"),
        lists=(INTERNATIONAL,),
        people=(
            Person("Анна", "Смирнова", "anna.smirnova"),
            Person("Сергей", "Волков", "sergey.volkov"),
            Person("Екатерина", "Морозова", "ekaterina.morozova", suppressed=True),
            Person("Алексей", "Лебедев", "alexey.lebedev"),
            Person("Мария", "Козлова", "maria.kozlova"),
            Person("Игорь", "Фёдоров", "igor.fedorov"),
            Person("Наталья", "Орлова", "natalya.orlova"),
        ),
    ),
    Desk(
        country="GB",
        outlets=(Outlet("The Continental Review", "continental-review.example", "print"),),
        languages=(("en",),),
        timezones=("Europe/London",),
        lists=(INTERNATIONAL,),
        people=(
            Person("Sarah", "Whitfield", "sarah.whitfield"),
            Person("Tom", "Ashworth", "tom.ashworth", languages=("en", "ru"),
                   timezone="Asia/Almaty", lists=(CENTRAL_ASIA, INTERNATIONAL)),
            Person("James", "Harrow", "james.harrow", languages=("en", "ru")),
        ),
    ),
    Desk(
        country="US",
        outlets=(Outlet("Global Desk Wire", "globaldesk.example.net", "online"),),
        languages=(("en",),),
        timezones=("America/New_York",),
        lists=(INTERNATIONAL,),
        people=(
            Person("Daniel", "Brooks", "dbrooks"),
            Person("Megan", "O'Connor", "moconnor"),
        ),
    ),
    Desk(
        country="DE",
        outlets=(Outlet("Ostwärts Magazin", "ostwaerts.example", "print"),),
        languages=(("de",), ("de", "en")),
        timezones=("Europe/Berlin",),
        lists=(INTERNATIONAL,),
        people=(
            Person("Jonas", "Becker", "jonas.becker"),  # reads only German: no translation
            Person("Lena", "Hoffmann", "lena.hoffmann", tracking=False),
        ),
    ),
    Desk(
        country="FR",
        outlets=(Outlet("Le Courrier des steppes", "courrier-steppes.example", "print"),),
        languages=(("fr",),),  # no French translation
        timezones=("Europe/Paris",),
        lists=(INTERNATIONAL,),
        people=(Person("Camille", "Laurent", "camille.laurent"),),
    ),
    Desk(
        country="TR",
        outlets=(Outlet("Bozkır Haber", "bozkir-haber.test", "online"),),
        languages=(("tr",),),  # no Turkish translation
        timezones=("Europe/Istanbul",),
        lists=(INTERNATIONAL,),
        people=(Person("Elif", "Yıldız", "elif.yildiz"),),
    ),
    Desk(
        country="NL",
        outlets=(Outlet("Oost-Europa Bulletin", "oe-bulletin.example.org", "online"),),
        languages=(("nl", "en"),),  # gets English: "ranked 2nd; nl not translated"
        timezones=("Europe/Amsterdam",),
        lists=(INTERNATIONAL,),
        people=(Person("Sanne", "de Vries", "sanne.devries"),),
    ),
)


def _journalist(desk: Desk, index: int, person: Person, number: int) -> DemoJournalist:
    """The ``index``-th person of a desk, ``number``-th of all: rotations applied."""
    freelance = index % 5 == 4
    outlet = desk.outlets[index % len(desk.outlets)]
    domain = FREELANCE_DOMAIN if freelance else outlet.domain
    tags = [DEMO_TAG, "freelance" if freelance else outlet.medium]
    if number % 9 == 0:
        tags.append("vip")
    notes = [] if person.tracking else [NO_TRACKING_NOTE]
    if person.suppressed:
        notes.append(UNSUBSCRIBED_NOTE)
    return DemoJournalist(
        email=f"{person.handle}@{domain}",
        first_name=person.first_name,
        last_name=person.last_name,
        outlet="" if freelance else outlet.name,
        beat=BEATS[number % len(BEATS)],
        role="freelance " + ROLES[number % len(ROLES)] if freelance
        else ROLES[number % len(ROLES)],
        country=desk.country,
        languages=person.languages or desk.languages[index % len(desk.languages)],
        timezone=person.timezone or desk.timezones[index % len(desk.timezones)],
        tags=tuple(sorted(tags)),
        lists=person.lists or desk.lists,
        tracking=person.tracking,
        suppressed=person.suppressed,
        notes=" ".join(notes),
    )


def demo_journalists() -> list[DemoJournalist]:
    """Every demo journalist, in the same order with the same details on every call."""
    people: list[DemoJournalist] = []
    for desk in DESKS:
        for index, person in enumerate(desk.people):
            people.append(_journalist(desk, index, person, len(people)))
    return people
