"""The demo supermarket's assortment and its shoppers' habits, as plain data.

Each subcategory lists its brands (premium brands marked with *, the chain's own label
as "Regulars Choice"), a typical price, whether it is fresh or sold by weight, and how
much each household type likes it. The generator reads nothing else, so the habits that
analytics should discover are all written down here.
"""

from dataclasses import dataclass, field

HOUSEHOLDS = ("single", "couple", "family_with_children", "elderly", "pet_owner")
HOUSEHOLD_SHARES = (0.24, 0.22, 0.30, 0.16, 0.08)
SHOPPER_TYPES = ("price_sensitive", "quality_seeking", "brand_loyal", "convenience")
SHOPPER_TYPE_SHARES = (0.32, 0.22, 0.24, 0.22)
OWN_LABEL = "Regulars Choice"


@dataclass(frozen=True)
class Subcategory:
    code: str
    name: str
    department: str
    category: str
    price: float  # typical unit price in yuan
    brands: tuple[str, ...]
    fresh: bool = False
    by_weight: bool = False
    excluded: bool = False  # tobacco, infant formula: no points, no promotions
    # Liking per household type, 1.0 = average; missing types like it on average.
    liking: dict[str, float] = field(default_factory=dict)


FAMILY = "family_with_children"

SUBCATEGORIES: tuple[Subcategory, ...] = (
    Subcategory(
        "VEG",
        "Vegetables",
        "Fresh",
        "Produce",
        6.5,
        ("Farm Direct", "*Green Valley Organic", OWN_LABEL),
        fresh=True,
        by_weight=True,
        liking={"elderly": 1.6, "single": 0.7},
    ),
    Subcategory(
        "FRU",
        "Fruit",
        "Fresh",
        "Produce",
        12.0,
        ("Farm Direct", "*Sunkist", "*Zespri"),
        fresh=True,
        by_weight=True,
        liking={FAMILY: 1.4, "single": 0.8},
    ),
    Subcategory(
        "PORK",
        "Pork",
        "Fresh",
        "Meat",
        28.0,
        ("Shuanghui", "*Black Pig Farm"),
        fresh=True,
        by_weight=True,
        liking={FAMILY: 1.3, "elderly": 1.3, "single": 0.5},
    ),
    Subcategory(
        "POUL",
        "Poultry",
        "Fresh",
        "Meat",
        22.0,
        ("Fengxiang", "*Free Range Co"),
        fresh=True,
        by_weight=True,
        liking={FAMILY: 1.2},
    ),
    Subcategory(
        "FISH",
        "Fish & seafood",
        "Fresh",
        "Seafood",
        45.0,
        ("Ocean Catch", "*Zhangzidao"),
        fresh=True,
        by_weight=True,
        liking={"elderly": 1.4, "couple": 1.2, "single": 0.5},
    ),
    Subcategory(
        "EGGS",
        "Eggs",
        "Fresh",
        "Dairy & eggs",
        15.8,
        ("Deqingyuan", "*Organic Hens", OWN_LABEL),
        fresh=True,
        liking={FAMILY: 1.3},
    ),
    Subcategory(
        "MILK",
        "Milk",
        "Fresh",
        "Dairy & eggs",
        13.5,
        ("Mengniu", "Yili", "*Bright Dairy"),
        fresh=True,
        liking={FAMILY: 1.6, "elderly": 1.2},
    ),
    Subcategory(
        "YOG",
        "Yoghurt",
        "Fresh",
        "Dairy & eggs",
        9.9,
        ("Yili", "*Simplelove", "Junlebao"),
        fresh=True,
        liking={FAMILY: 1.4, "single": 1.2},
    ),
    Subcategory(
        "BREAD",
        "Bread & pastry",
        "Fresh",
        "Bakery",
        8.5,
        ("Toly", "*Paris Baguette", OWN_LABEL),
        fresh=True,
        liking={"single": 1.3, "couple": 1.2},
    ),
    Subcategory(
        "TOFU",
        "Tofu & bean products",
        "Fresh",
        "Produce",
        4.5,
        ("Zu Ming", OWN_LABEL),
        fresh=True,
        liking={"elderly": 1.7},
    ),
    Subcategory(
        "RICE",
        "Rice",
        "Grocery",
        "Staples",
        39.9,
        ("Golden Dragon", "*Wuchang Rice", OWN_LABEL),
        liking={FAMILY: 1.4, "elderly": 1.3, "single": 0.5},
    ),
    Subcategory(
        "NOOD",
        "Instant noodles",
        "Grocery",
        "Staples",
        4.5,
        ("Master Kong", "Uni-President", "*Nissin"),
        liking={"single": 2.4, "elderly": 0.4},
    ),
    Subcategory(
        "OIL",
        "Cooking oil",
        "Grocery",
        "Staples",
        69.0,
        ("Arawana", "*Luhua"),
        liking={FAMILY: 1.3, "elderly": 1.3, "single": 0.4},
    ),
    Subcategory(
        "SAUCE",
        "Soy sauce & condiments",
        "Grocery",
        "Condiments",
        12.5,
        ("Haitian", "*Lee Kum Kee", OWN_LABEL),
        liking={"elderly": 1.3, "single": 0.6},
    ),
    Subcategory(
        "SNACK",
        "Snacks & crisps",
        "Grocery",
        "Snacks",
        7.9,
        ("Lay's", "Oishi", "*Three Squirrels", OWN_LABEL),
        liking={FAMILY: 1.4, "single": 1.5, "elderly": 0.5},
    ),
    Subcategory(
        "BISC",
        "Biscuits",
        "Grocery",
        "Snacks",
        9.5,
        ("Oreo", "*Danisa", OWN_LABEL),
        liking={FAMILY: 1.3},
    ),
    Subcategory(
        "CHOC",
        "Chocolate & candy",
        "Grocery",
        "Snacks",
        15.0,
        ("Dove", "*Ferrero", "Alpenliebe"),
        liking={FAMILY: 1.3, "couple": 1.2},
    ),
    Subcategory(
        "WATER",
        "Water",
        "Grocery",
        "Beverages",
        2.0,
        ("Nongfu Spring", "C'estbon", OWN_LABEL),
        liking={"single": 1.5},
    ),
    Subcategory(
        "SOFT",
        "Soft drinks",
        "Grocery",
        "Beverages",
        3.5,
        ("Coca-Cola", "Pepsi", "Genki Forest"),
        liking={"single": 1.6, FAMILY: 1.2, "elderly": 0.4},
    ),
    Subcategory(
        "TEA",
        "Tea",
        "Grocery",
        "Beverages",
        35.0,
        ("Lipton", "*Tieguanyin Estate"),
        liking={"elderly": 1.8, "single": 0.6},
    ),
    Subcategory(
        "BEER",
        "Beer",
        "Grocery",
        "Beer & wine",
        6.0,
        ("Tsingtao", "Snow", "*Heineken"),
        liking={"single": 1.8, "couple": 1.3, "elderly": 0.5},
    ),
    Subcategory(
        "WINE",
        "Wine & baijiu",
        "Grocery",
        "Beer & wine",
        88.0,
        ("Changyu", "*Moutai Prince", "*Penfolds"),
        liking={"couple": 1.6, "elderly": 1.1},
    ),
    Subcategory(
        "FROZ",
        "Frozen dumplings",
        "Frozen",
        "Frozen meals",
        18.9,
        ("Sanquan", "Synear", "*Bibigo"),
        liking={"single": 1.7, FAMILY: 1.2},
    ),
    Subcategory(
        "ICE",
        "Ice cream",
        "Frozen",
        "Desserts",
        6.0,
        ("Wall's", "*Haagen-Dazs", "Yili"),
        liking={FAMILY: 1.5, "single": 1.2},
    ),
    Subcategory(
        "DET",
        "Laundry detergent",
        "Household",
        "Cleaning",
        39.0,
        ("Blue Moon", "Liby", "*Persil"),
        liking={FAMILY: 1.4},
    ),
    Subcategory(
        "TISS",
        "Tissue & toilet paper",
        "Household",
        "Paper",
        29.9,
        ("Vinda", "Breeze", OWN_LABEL),
        liking={FAMILY: 1.3},
    ),
    Subcategory(
        "DISH",
        "Dishwashing",
        "Household",
        "Cleaning",
        12.9,
        ("Liby", "*Method", OWN_LABEL),
        liking={},
    ),
    Subcategory(
        "SHAM",
        "Shampoo & body wash",
        "Personal care",
        "Hair & body",
        39.9,
        ("Head & Shoulders", "Lux", "*Aesop"),
        liking={"couple": 1.2},
    ),
    Subcategory(
        "TOOTH",
        "Toothpaste",
        "Personal care",
        "Oral care",
        14.9,
        ("Colgate", "Yunnan Baiyao", "*Marvis"),
        liking={FAMILY: 1.2},
    ),
    Subcategory(
        "DIAP",
        "Diapers",
        "Baby",
        "Baby care",
        89.0,
        ("Pampers", "Merries", "*Moony"),
        liking={FAMILY: 5.0, "single": 0.0, "couple": 0.1, "elderly": 0.05, "pet_owner": 0.1},
    ),
    Subcategory(
        "WIPE",
        "Baby wipes",
        "Baby",
        "Baby care",
        15.9,
        ("Pampers", "*Pigeon", OWN_LABEL),
        liking={FAMILY: 4.0, "single": 0.05, "couple": 0.2, "elderly": 0.05, "pet_owner": 0.2},
    ),
    Subcategory(
        "FORM",
        "Infant formula",
        "Baby",
        "Infant formula",
        268.0,
        ("Feihe", "*a2 Platinum", "*Aptamil"),
        excluded=True,
        liking={FAMILY: 3.0, "single": 0.0, "couple": 0.05, "elderly": 0.0, "pet_owner": 0.05},
    ),
    Subcategory(
        "DOGF",
        "Dog food",
        "Pet",
        "Pet food",
        79.0,
        ("Pedigree", "*Royal Canin"),
        liking={"pet_owner": 14.0, "single": 0.05, "couple": 0.1, FAMILY: 0.1, "elderly": 0.1},
    ),
    Subcategory(
        "CATF",
        "Cat food & litter",
        "Pet",
        "Pet food",
        59.0,
        ("Whiskas", "*Orijen", OWN_LABEL),
        liking={"pet_owner": 14.0, "single": 0.1, "couple": 0.1, FAMILY: 0.05, "elderly": 0.1},
    ),
    Subcategory(
        "CIG",
        "Cigarettes",
        "Tobacco",
        "Tobacco",
        26.0,
        ("Zhonghua", "Yuxi", "Furongwang"),
        excluded=True,
        liking={"single": 1.3, "elderly": 1.2, FAMILY: 0.6},
    ),
)

# Goods bought together: when a basket holds the first, it holds the second this often.
COMPLEMENTS: tuple[tuple[str, str, float], ...] = (
    ("NOOD", "EGGS", 0.45),
    ("BEER", "SNACK", 0.55),
    ("DIAP", "WIPE", 0.70),
    ("PORK", "SAUCE", 0.25),
    ("RICE", "OIL", 0.30),
    ("BREAD", "MILK", 0.35),
    ("DOGF", "TISS", 0.15),
    ("FROZ", "SAUCE", 0.20),
)

# How each shopper type behaves: (promotion response, premium share, brand concentration,
# basket size factor, visit rate factor), the means of the member-level draws.
SHOPPER_HABITS: dict[str, tuple[float, float, float, float, float]] = {
    "price_sensitive": (0.75, 0.05, 0.25, 1.1, 0.9),
    "quality_seeking": (0.10, 0.65, 0.35, 1.0, 0.9),
    "brand_loyal": (0.15, 0.25, 0.90, 1.0, 1.0),
    "convenience": (0.15, 0.20, 0.40, 0.35, 2.2),
}

# Mean basket value in yuan by household type, before the member's own spend level.
HOUSEHOLD_SPEND = {
    "single": 55.0,
    "couple": 95.0,
    FAMILY: 150.0,
    "elderly": 70.0,
    "pet_owner": 110.0,
}

REGIONS = ("East", "North", "South", "Southwest")
CITY_OF_REGION = {
    "East": "Shanghai",
    "North": "Beijing",
    "South": "Guangzhou",
    "Southwest": "Chengdu",
}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"  # noqa: E501
GIVEN = "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红丹玲飞鹏辉宇浩然欣怡子轩梓涵雨桐"  # noqa: E501
