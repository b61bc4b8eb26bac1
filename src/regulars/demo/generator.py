"""Generate a synthetic supermarket chain as plain arrays: no database, no files, no clock.

Members follow a buy-till-you-die process (a visit rate from a gamma mixture, a drop-out
chance after each visit from a beta mixture), so lifetime-value models apply; their
household type drives what they buy and their shopper type how they respond to
promotions, premium brands and basket size. The latent values are returned with the data.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from regulars.demo import assortment as A

HOUR_WEIGHTS = np.array(
    [
        0,
        0,
        0,
        0,
        0,
        0,
        0.3,
        1.2,
        2.0,
        2.6,
        3.0,
        2.8,
        2.0,
        1.5,
        1.4,
        1.6,
        2.2,
        3.2,
        3.4,
        2.8,
        2.0,
        1.2,
        0.4,
        0,
    ]
)
WEEKDAY_WEIGHTS = np.array([0.9, 0.85, 0.9, 0.95, 1.05, 1.35, 1.3])  # Monday first
LUNAR_NEW_YEAR = {
    2022: "02-01",
    2023: "01-22",
    2024: "02-10",
    2025: "01-29",
    2026: "02-17",
    2027: "02-06",
    2028: "01-26",
}
MID_AUTUMN = {
    2022: "09-10",
    2023: "09-29",
    2024: "09-17",
    2025: "10-06",
    2026: "09-25",
    2027: "09-15",
    2028: "10-03",
}
ASSORTMENT_SEED = 2026  # the chain sells the same products whatever the seed of its history
PREMIUM_MARKUP = 1.25  # what premium and own-label prices do to an average line


def season_weight(day: date) -> float:
    """How busy a day is: Spring Festival, 618, Double 11 and Mid-Autumn are the peaks."""
    weight = float(WEEKDAY_WEIGHTS[day.weekday()])
    year = day.year
    for table, before, boost in ((LUNAR_NEW_YEAR, 14, 1.8), (MID_AUTUMN, 7, 1.4)):
        if year in table:
            festival = date.fromisoformat(f"{year}-{table[year]}")
            if 0 <= (festival - day).days <= before:
                weight *= boost
            elif 0 < (day - festival).days <= 5 and table is LUNAR_NEW_YEAR:
                weight *= 0.5  # the shops are quiet during the holiday itself
    if date(year, 6, 1) <= day <= date(year, 6, 18):
        weight *= 1.3
    if date(year, 11, 1) <= day <= date(year, 11, 11):
        weight *= 1.4
    return weight


@dataclass
class DemoMembers:
    household: NDArray[np.int_]
    shopper_type: NDArray[np.int_]
    purchase_rate: NDArray[np.float64]  # visits a week while active
    dropout_probability: NDArray[np.float64]
    spend_level: NDArray[np.float64]
    premium_share: NDArray[np.float64]
    brand_concentration: NDArray[np.float64]
    promotion_response: NDArray[np.float64]
    joined_at: NDArray[np.datetime64]
    home_store: NDArray[np.int_]
    phone: list[str]
    email: list[str | None]
    name: list[str]
    gender: NDArray[np.int_]  # 0 female, 1 male, 2 unspecified
    birth_date: list[date]
    consents: NDArray[np.bool_]  # members × (sms, email, push, wechat)


@dataclass
class DemoSales:
    member: NDArray[np.int_]  # -1 for an anonymous sale
    store: NDArray[np.int_]
    sold_at: NDArray[np.datetime64]  # UTC
    payment: NDArray[np.int_]
    pos_receipt_no: list[str]
    line_receipt: NDArray[np.int_]  # receipt index of each line, lines grouped by receipt
    line_product: NDArray[np.int_]
    line_quantity_milli: NDArray[np.int64]
    line_unit_price_cents: NDArray[np.int64]
    line_discount_cents: NDArray[np.int64]
    refund_receipt: NDArray[np.int_]
    refund_line_no: NDArray[np.int_]
    refund_after_hours: NDArray[np.int_]


@dataclass
class DemoProducts:
    sku: list[str]
    name: list[str]
    brand: list[str]
    subcategory: NDArray[np.int_]
    price_cents: NDArray[np.int64]
    premium: NDArray[np.bool_]
    private_label: NDArray[np.bool_]


@dataclass
class DemoStores:
    code: list[str]
    name: list[str]
    region: list[str]
    channel: list[str]


@dataclass
class DemoChain:
    stores: DemoStores
    products: DemoProducts
    members: DemoMembers
    sales: DemoSales
    start: date
    until: date
    left_at: NDArray[np.datetime64]  # when each member stopped shopping (UTC); NaT: never


ZONE = ZoneInfo("Asia/Shanghai")  # every demo store's zone
PAYMENTS = ("wechat_pay", "alipay", "card", "cash")
PAYMENT_SHARES = (0.48, 0.30, 0.12, 0.10)


def generate(*, members: int, months: int, seed: int, stores: int, until: date) -> DemoChain:
    """A whole chain, deterministic for the same arguments."""
    rng = np.random.default_rng(seed)
    start = _months_before(until, months)
    chain_stores = _stores(stores)
    products = _products(np.random.default_rng(ASSORTMENT_SEED))
    people = _members(rng, members, len(chain_stores.code) - 2, start, until)
    sales, left_at = _sales(rng, people, products, chain_stores, start, until)
    return DemoChain(chain_stores, products, people, sales, start, until, left_at)


def _months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    return date(month_index // 12, month_index % 12 + 1, min(day.day, 28))


def _stores(count: int) -> DemoStores:
    codes, names, regions, channels = [], [], [], []
    for number in range(1, count + 1):
        region = A.REGIONS[(number - 1) % len(A.REGIONS)]
        codes.append(f"S{number:03d}")
        names.append(f"Regulars {A.CITY_OF_REGION[region]} #{(number - 1) // len(A.REGIONS) + 1}")
        regions.append(region)
        channels.append("store")
    codes += ["WEB", "MINI"]
    names += ["Regulars online shop", "Regulars WeChat mini-program"]
    regions += ["National", "National"]
    channels += ["online", "mini_program"]
    return DemoStores(codes, names, regions, channels)


def _products(rng: np.random.Generator) -> DemoProducts:
    sku: list[str] = []
    name: list[str] = []
    brand: list[str] = []
    subcategory: list[int] = []
    price: list[int] = []
    premium: list[bool] = []
    own: list[bool] = []
    for index, sub in enumerate(A.SUBCATEGORIES):
        for brand_name in sub.brands:
            is_premium = brand_name.startswith("*")
            clean = brand_name.lstrip("*")
            for variant in range(int(rng.integers(2, 5))):
                factor = (2.2 if is_premium else 1.0) * (0.85 if clean == A.OWN_LABEL else 1.0)
                cents = int(round(sub.price * factor * rng.uniform(0.7, 1.4) * 10)) * 10 - 10
                sku.append(f"{sub.code}-{len(sku) + 1:05d}")
                size = ("classic", "family pack", "light", "select")[variant]
                name.append(f"{clean} {sub.name.lower()} {size}")
                brand.append(clean)
                subcategory.append(index)
                price.append(max(cents, 90))
                premium.append(is_premium)
                own.append(clean == A.OWN_LABEL)
    return DemoProducts(
        sku,
        name,
        brand,
        np.array(subcategory),
        np.array(price, dtype=np.int64),
        np.array(premium),
        np.array(own),
    )


def _members(
    rng: np.random.Generator, count: int, physical_stores: int, start: date, until: date
) -> DemoMembers:
    household = rng.choice(len(A.HOUSEHOLDS), size=count, p=A.HOUSEHOLD_SHARES)
    shopper = rng.choice(len(A.SHOPPER_TYPES), size=count, p=A.SHOPPER_TYPE_SHARES)
    habits = np.array([A.SHOPPER_HABITS[t] for t in A.SHOPPER_TYPES])[shopper]

    # Two latent groups of shoppers: weekly regulars and occasional visitors.
    regular = rng.random(count) < 0.55
    rate = np.where(regular, rng.gamma(3.0, 0.45, count), rng.gamma(0.8, 0.35, count))
    rate *= habits[:, 4]
    dropout = np.where(regular, rng.beta(1.0, 60.0, count), rng.beta(1.2, 10.0, count))
    mean_spend = np.array([A.HOUSEHOLD_SPEND[h] for h in A.HOUSEHOLDS])[household] * habits[:, 3]
    spend = rng.gamma(6.0, mean_spend / 6.0)

    def around(mean: NDArray[np.float64], strength: float = 12.0) -> NDArray[np.float64]:
        return rng.beta(mean * strength, (1 - mean) * strength)

    days_in_period = (until - start).days
    # Six in ten were members before the period began, the rest joined during it.
    joined_before = rng.random(count) < 0.6
    offset_days = np.where(
        joined_before,
        -rng.integers(1, 3 * 365, count),
        rng.integers(0, max(days_in_period, 1), count),
    )
    joined_at = (
        np.datetime64(start, "s")
        + offset_days.astype("timedelta64[D]")
        + rng.integers(8 * 3600, 21 * 3600, count).astype("timedelta64[s]")
        - np.timedelta64(8, "h")
    )

    phone_numbers = _unique_numbers(rng, count, 10**8)
    prefixes = rng.choice(["138", "139", "150", "186", "177", "135", "188"], size=count)
    phones = [f"+86{p}{n:08d}" for p, n in zip(prefixes, phone_numbers, strict=True)]
    has_email = rng.random(count) < 0.55
    emails = [
        f"m{n:08d}@mail.example.cn" if e else None
        for n, e in zip(phone_numbers, has_email, strict=True)
    ]
    surnames = rng.integers(0, len(A.SURNAMES), count)
    given = rng.integers(0, len(A.GIVEN), (count, 2))
    two_char = rng.random(count) < 0.6
    names = [
        A.SURNAMES[s] + A.GIVEN[g[0]] + (A.GIVEN[g[1]] if t else "")
        for s, g, t in zip(surnames, given, two_char, strict=True)
    ]
    elderly = household == A.HOUSEHOLDS.index("elderly")
    age = np.where(elderly, rng.integers(60, 86, count), rng.integers(19, 60, count))
    birth = [
        date(until.year - int(a), int(m), int(d))
        for a, m, d in zip(age, rng.integers(1, 13, count), rng.integers(1, 29, count), strict=True)
    ]
    consents = rng.random((count, 4)) < np.array([0.6, 0.35, 0.5, 0.7])
    consents[:, 1] &= has_email
    return DemoMembers(
        household=household,
        shopper_type=shopper,
        purchase_rate=rate,
        dropout_probability=dropout,
        spend_level=spend,
        premium_share=around(habits[:, 1]),
        brand_concentration=around(habits[:, 2]),
        promotion_response=around(habits[:, 0]),
        joined_at=joined_at,
        home_store=rng.integers(0, physical_stores, count),
        phone=phones,
        email=emails,
        name=names,
        gender=rng.choice(3, size=count, p=[0.56, 0.40, 0.04]),
        birth_date=birth,
        consents=consents,
    )


def _unique_numbers(rng: np.random.Generator, count: int, space: int) -> NDArray[np.int64]:
    drawn = np.unique(rng.integers(0, space, int(count * 1.1) + 10))
    while len(drawn) < count:
        drawn = np.unique(np.concatenate([drawn, rng.integers(0, space, count)]))
    return rng.permutation(drawn)[:count]


def _day_weights(start: date, until: date) -> NDArray[np.float64]:
    days = (until - start).days
    return np.array([season_weight(start + timedelta(days=d)) for d in range(days)])


def _visits(
    rng: np.random.Generator, people: DemoMembers, start: date, until: date
) -> tuple[NDArray[np.int_], NDArray[np.float64], NDArray[np.float64]]:
    """Buy till you die: Poisson visits while alive, thinned by the calendar's busyness;
    each visit's member and day, and the day each member left (inf: they did not)."""
    weights = _day_weights(start, until)
    peak = weights.max()
    horizon = (until - start).days
    begin = ((people.joined_at - np.datetime64(start, "s")) / np.timedelta64(1, "D")).clip(0)
    clock = begin.astype(np.float64)
    alive = begin < horizon
    rate_per_day = people.purchase_rate / 7.0 * peak
    member_ids, days = [], []
    left = np.full(len(begin), np.inf)
    active = np.flatnonzero(alive)
    while active.size:
        clock[active] += rng.exponential(1.0 / rate_per_day[active])
        active = active[clock[active] < horizon]
        accepted = rng.random(active.size) < weights[clock[active].astype(int)] / peak
        visitors = active[accepted]
        member_ids.append(visitors)
        days.append(clock[visitors])
        leaving = rng.random(visitors.size) < people.dropout_probability[visitors]
        left[visitors[leaving]] = clock[visitors[leaving]]
        active = np.setdiff1d(active, visitors[leaving], assume_unique=True)
    return np.concatenate(member_ids), np.concatenate(days), left


def _sales(
    rng: np.random.Generator,
    people: DemoMembers,
    products: DemoProducts,
    stores: DemoStores,
    start: date,
    until: date,
) -> tuple[DemoSales, NDArray[np.datetime64]]:
    """The chain's sales, and when each member stopped shopping."""
    member, day, left = _visits(rng, people, start, until)
    # About three sales in ten are anonymous: shoppers who never joined or left the card at home.
    anonymous = int(round(len(member) * 0.3 / 0.7))
    weights = _day_weights(start, until)
    anon_day = rng.choice(len(weights), size=anonymous, p=weights / weights.sum()) + rng.random(
        anonymous
    )
    member = np.concatenate([member, np.full(anonymous, -1)])
    day = np.concatenate([day, anon_day])
    count = len(member)
    known = member >= 0
    physical = len(stores.code) - 2
    store = np.where(known, people.home_store[member.clip(0)], rng.integers(0, physical, count))
    channel_draw = rng.random(count)
    store = np.where(channel_draw < 0.06, physical, store)  # online shop
    store = np.where((channel_draw >= 0.06) & (channel_draw < 0.10), physical + 1, store)
    store = np.where(
        (channel_draw >= 0.10) & (channel_draw < 0.14), rng.integers(0, physical, count), store
    )
    hour = rng.choice(24, size=count, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    local = (
        np.datetime64(start, "s")
        + np.floor(day).astype("timedelta64[D]")
        + (hour * 3600 + rng.integers(0, 3600, count)).astype("timedelta64[s]")
    )
    sold_at = local - np.timedelta64(8, "h")
    order = np.argsort(sold_at, kind="stable")
    member, store, sold_at = member[order], store[order], sold_at[order]
    known = member >= 0

    lines = _baskets(rng, people, products, member, sold_at)
    pos_numbers = _pos_numbers(store, sold_at, stores.code)
    refunds = rng.random(count) < 0.004
    refund_receipt = np.flatnonzero(refunds)
    line_counts = np.bincount(lines[0], minlength=count)
    refund_line_no = 1 + (rng.random(refund_receipt.size) * line_counts[refund_receipt]).astype(int)
    left_at = np.where(
        np.isfinite(left),
        np.datetime64(start, "s") + (np.nan_to_num(left, posinf=0) * 86400).astype("m8[s]"),
        np.datetime64("NaT", "s"),
    )
    sales = DemoSales(
        member=member,
        store=store,
        sold_at=sold_at,
        payment=rng.choice(len(PAYMENTS), size=count, p=PAYMENT_SHARES),
        pos_receipt_no=pos_numbers,
        line_receipt=lines[0],
        line_product=lines[1],
        line_quantity_milli=lines[2],
        line_unit_price_cents=lines[3],
        line_discount_cents=lines[4],
        refund_receipt=refund_receipt,
        refund_line_no=refund_line_no,
        refund_after_hours=rng.integers(1, 72, refund_receipt.size),
    )
    return sales, left_at


def _pos_numbers(
    store: NDArray[np.int_], sold_at: NDArray[np.datetime64], codes: list[str]
) -> list[str]:
    sequence = np.zeros(len(store), dtype=np.int64)
    for index in range(len(codes)):
        at_store = np.flatnonzero(store == index)
        sequence[at_store] = np.arange(1, at_store.size + 1)
    days = sold_at.astype("datetime64[D]").astype(str)
    return [
        f"{codes[s]}-{d.replace('-', '')}-{n:07d}"
        for s, d, n in zip(store, days, sequence, strict=True)
    ]


def _baskets(
    rng: np.random.Generator,
    people: DemoMembers,
    products: DemoProducts,
    member: NDArray[np.int_],
    sold_at: NDArray[np.datetime64],
) -> tuple[
    NDArray[np.int_], NDArray[np.int_], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]
]:
    count = len(member)
    known = member >= 0
    anon_household = rng.choice(len(A.HOUSEHOLDS), size=count, p=A.HOUSEHOLD_SHARES)
    household = np.where(known, people.household[member.clip(0)], anon_household)
    spend = np.where(known, people.spend_level[member.clip(0)], rng.gamma(2.0, 30.0, count))
    # Cheap everyday goods are bought far more often than dear ones; the number of lines
    # is set so that a basket is worth the shopper's spend level on average.
    liking = np.array([[s.liking.get(h, 1.0) for s in A.SUBCATEGORIES] for h in A.HOUSEHOLDS])
    prices = np.array([s.price for s in A.SUBCATEGORIES])
    units = np.array([0.6 if s.by_weight else 1.35 for s in A.SUBCATEGORIES])
    choice = liking / prices**0.8
    choice /= choice.sum(axis=1, keepdims=True)
    line_value = (choice * prices * units).sum(axis=1) * PREMIUM_MARKUP
    mean_items = np.clip(spend / line_value[household], 1.0, 40.0)
    items = 1 + rng.poisson(mean_items - 1)

    receipt_of_line = np.repeat(np.arange(count), items)
    line_household = household[receipt_of_line]
    subcategory = np.empty(receipt_of_line.size, dtype=np.int64)
    for h in range(len(A.HOUSEHOLDS)):
        mine = np.flatnonzero(line_household == h)
        subcategory[mine] = rng.choice(len(A.SUBCATEGORIES), size=mine.size, p=choice[h])

    # Complements join the basket.
    codes = [s.code for s in A.SUBCATEGORIES]
    extra_receipts, extra_subcategories = [receipt_of_line], [subcategory]
    for first, second, chance in A.COMPLEMENTS:
        holders = np.unique(receipt_of_line[subcategory == codes.index(first)])
        joined = holders[rng.random(holders.size) < chance]
        extra_receipts.append(joined)
        extra_subcategories.append(np.full(joined.size, codes.index(second)))
    receipt_of_line = np.concatenate(extra_receipts)
    subcategory = np.concatenate(extra_subcategories)
    order = np.argsort(receipt_of_line, kind="stable")
    receipt_of_line, subcategory = receipt_of_line[order], subcategory[order]

    product = _choose_products(rng, people, products, member[receipt_of_line], subcategory)
    sub_info = A.SUBCATEGORIES
    by_weight = np.array([s.by_weight for s in sub_info])[subcategory]
    quantity = np.where(
        by_weight,
        np.round(rng.gamma(3.0, 0.2, product.size) * 1000).clip(50, None),
        1000 * (1 + rng.poisson(0.35, product.size)),
    ).astype(np.int64)
    price = products.price_cents[product]
    gross = (quantity * price + 500) // 1000

    # Promotions: a product is on offer in some weeks; members respond by their habit.
    week = sold_at[receipt_of_line].astype("datetime64[D]").astype(np.int64) // 7
    on_offer = ((product * 7919 + week * 104729) % 100) < 18
    excluded = np.array([s.excluded for s in sub_info])[subcategory]
    line_member = member[receipt_of_line]
    response = np.where(line_member >= 0, people.promotion_response[line_member.clip(0)], 0.3)
    takes_offer = on_offer & ~excluded & (rng.random(product.size) < response)
    discount = np.where(
        takes_offer, (gross * rng.choice([10, 15, 20, 30], size=product.size)) // 100, 0
    )
    return receipt_of_line, product, quantity, price, discount.astype(np.int64)


def _choose_products(
    rng: np.random.Generator,
    people: DemoMembers,
    products: DemoProducts,
    line_member: NDArray[np.int_],
    subcategory: NDArray[np.int64],
) -> NDArray[np.int_]:
    """Premium or not by the member's premium share; the favourite brand by their loyalty."""
    known = line_member >= 0
    safe = line_member.clip(0)
    premium_share = np.where(known, people.premium_share[safe], 0.2)
    concentration = np.where(known, people.brand_concentration[safe], 0.3)
    wants_premium = rng.random(line_member.size) < premium_share

    # Products sorted by (subcategory, premium) so each group is a contiguous slice.
    group = products.subcategory * 2 + products.premium.astype(int)
    order = np.argsort(group, kind="stable")
    groups = len(A.SUBCATEGORIES) * 2
    sizes = np.bincount(group, minlength=groups)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    wanted = subcategory * 2 + wants_premium.astype(int)
    wanted = np.where(sizes[wanted] > 0, wanted, subcategory * 2 + (1 - wants_premium.astype(int)))
    favourite = (safe * 2654435761 + subcategory * 40503) % 1_000_003
    loyal = known & (rng.random(line_member.size) < concentration)
    pick = np.where(loyal, favourite, rng.integers(0, 1_000_003, line_member.size))
    return order[starts[wanted] + pick % sizes[wanted]]


def as_utc_datetime(moment: np.datetime64) -> datetime:
    return datetime.fromtimestamp(int(moment.astype("datetime64[s]").astype(np.int64)), UTC)
