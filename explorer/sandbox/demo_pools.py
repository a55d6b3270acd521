"""Fixed vocabularies the demo data is drawn from: names, places, products, pipelines."""

from __future__ import annotations

FIRST_NAMES = (
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hannah", "Isabel", "Jonas",
    "Karin", "Lukas", "Maria", "Niklas", "Olivia", "Paul", "Rosa", "Stefan", "Tobias", "Ulla",
    "Valentin", "Wiebke", "Yusuf", "Zoe", "Amelia", "Oliver", "Harry", "Isla", "Jack", "Emily",
    "George", "Sophie", "Charlie", "Grace", "James", "Lucy", "Thomas", "Chloe", "William",
    "Ella", "Michael", "Sarah", "Daniel", "Jessica", "Matthew", "Ashley", "Christopher",
    "Jennifer", "Andrew", "Megan", "Joshua", "Lauren", "Camille", "Louis", "Chloé", "Hugo",
    "Manon", "Lucas", "Léa", "Jules", "Inès", "Arthur", "Daan", "Sanne", "Bram", "Femke",
    "Ruben", "Lotte", "Erik", "Astrid", "Lars", "Ingrid", "Johan", "Freja", "Mikael", "Sofia",
    "Marco", "Giulia", "Luca", "Chiara", "Javier", "Lucía", "Pablo", "Carmen", "Diego",
    "Martina", "Kaspar", "Liis", "Mart", "Kadri", "Andres", "Kristiina", "Priya", "Arjun",
    "Mei", "Hiroshi", "Yuki", "Kenji", "Aiko", "Omar", "Layla", "Tariq", "Noor", "Mateo",
    "Valeria", "Nora", "Emil", "Ida", "Leon", "Mila", "Finn", "Lena", "Theo", "Maja",
)

LAST_NAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Hoffmann", "Schäfer", "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Smith",
    "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
    "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson",
    "Clarke", "Miller", "Davis", "Garcia", "Rodriguez", "Martinez", "Anderson", "Thomas",
    "Moore", "Martin", "Lee", "Harris", "Clark", "Lewis", "Young", "Allen", "King", "Scott",
    "Dubois", "Durand", "Lefebvre", "Moreau", "Laurent", "Simon", "Michel", "Garnier",
    "Bernard", "Petit", "de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser",
    "Smit", "Meijer", "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson",
    "Olsson", "Persson", "Lindqvist", "Berg", "Rossi", "Russo", "Ferrari", "Esposito",
    "Bianchi", "Romano", "Colombo", "García", "Fernández", "López", "Sánchez", "Pérez",
    "Gómez", "Tamm", "Saar", "Sepp", "Mägi", "Kask", "Kukk", "Rebane", "Ilves", "Patel",
    "Sharma", "Singh", "Chen", "Wang", "Tanaka", "Suzuki", "Sato", "Nakamura", "Khan",
    "Haddad", "Novak", "Kowalski", "Nowak", "Horvat", "Popescu", "Nagy", "Keller", "Huber",
    "Brunner", "Baumann", "Frei", "Gerber", "Weiss", "Zimmermann", "Krüger", "Hartmann",
)

ORG_ROOTS = (
    "Nordwind", "Bluepeak", "Silverline", "Greenfield", "Ironbridge", "Brightwater", "Redwood",
    "Northstar", "Sunvale", "Cedarpoint", "Harborview", "Summit", "Falcon", "Atlas", "Orion",
    "Vertex", "Pioneer", "Crescent", "Maplewood", "Granite", "Lumen", "Keystone", "Evergreen",
    "Horizon", "Aurora", "Polaris", "Meridian", "Cobalt", "Juniper", "Sterling", "Beacon",
    "Riverside", "Oakridge", "Westbrook", "Eastgate", "Alpenglow", "Fjordline", "Baltica",
    "Rheinwerk", "Hanseatic", "Quantum", "Nimbus", "Helix", "Zenith", "Apex", "Solstice",
    "Tidewater", "Copperfield", "Blackthorn", "Whitecliff", "Skyline", "Stonegate", "Wavecrest",
    "Pinecrest", "Goldleaf", "Bright Harbor", "Clearpath", "Trueline", "Swiftwater", "Kestrel",
    "Lighthouse", "Starling", "Foxglove", "Highland", "Lakeshore", "Meadowbrook", "Norrland",
    "Öresund", "Elbe", "Danube", "Thames", "Seine", "Amstel", "Peipsi", "Kalev", "Saimaa",
    "Matterhorn", "Edelweiss", "Vesper", "Ember",
)

ORG_SECTORS = (
    ("Logistics", 3), ("Analytics", 1), ("Foods", 5), ("Robotics", 2), ("Health", 4),
    ("Energy", 6), ("Consulting", 7), ("Software", 1), ("Manufacturing", 2), ("Media", 8),
    ("Capital", 9), ("Retail", 10), ("Labs", 4), ("Systems", 1), ("Textiles", 2),
    ("Pharma", 4), ("Travel", 11), ("Construction", 12), ("Motors", 2), ("Security", 1),
    ("Properties", 12), ("Education", 13), ("Telecom", 1), ("Marine", 3), ("Agritech", 5),
    ("Insurance", 9), ("Architects", 12), ("Studios", 8), ("Hotels", 11), ("Solar", 6),
)

# Options of the built-in organization "industry" field; ORG_SECTORS point into it (1-based).
INDUSTRIES = (
    "Information technology", "Manufacturing", "Transportation & logistics",
    "Healthcare & life sciences", "Food & beverage", "Energy & utilities",
    "Professional services", "Media & entertainment", "Financial services", "Retail",
    "Travel & hospitality", "Real estate & construction", "Education",
)

ORG_SUFFIXES = ("", "", "", "", " Group", " International", " Partners", " Nordic", " Europe",
                " Holding", " Solutions", " Systems")

# Places: country, country code, tld, phone prefix, legal forms, currency,
# (city, region, postal code pattern with # for digits), streets, street-number-first?
COUNTRIES: tuple[tuple[str, str, str, str, tuple[str, ...], str, tuple[tuple[str, str, str], ...],
                       tuple[str, ...], bool, int], ...] = (
    ("Germany", "DE", "de", "+49", ("GmbH", "AG", "GmbH & Co. KG"), "EUR",
     (("Berlin", "Berlin", "10###"), ("Hamburg", "Hamburg", "20###"),
      ("München", "Bayern", "80###"), ("Köln", "Nordrhein-Westfalen", "50###"),
      ("Frankfurt am Main", "Hessen", "60###"), ("Stuttgart", "Baden-Württemberg", "70###"),
      ("Leipzig", "Sachsen", "04###")),
     ("Hauptstraße", "Bahnhofstraße", "Schillerstraße", "Goethestraße", "Gartenstraße",
      "Lindenallee", "Friedrichstraße", "Kantstraße"), False, 26),
    ("United Kingdom", "GB", "co.uk", "+44", ("Ltd", "PLC", "LLP"), "GBP",
     (("London", "England", "EC1A #AA"), ("Manchester", "England", "M# #AB"),
      ("Edinburgh", "Scotland", "EH# #PQ"), ("Bristol", "England", "BS# #XY"),
      ("Leeds", "England", "LS# #DN")),
     ("High Street", "Station Road", "Church Lane", "Victoria Road", "Park Avenue",
      "King Street", "Queen's Road"), True, 16),
    ("United States", "US", "com", "+1", ("Inc.", "LLC", "Corp."), "USD",
     (("New York", "New York", "100##"), ("San Francisco", "California", "941##"),
      ("Austin", "Texas", "787##"), ("Chicago", "Illinois", "606##"),
      ("Boston", "Massachusetts", "021##"), ("Seattle", "Washington", "981##"),
      ("Denver", "Colorado", "802##")),
     ("Main Street", "Market Street", "Broadway", "Oak Avenue", "Maple Drive", "Elm Street",
      "Sunset Boulevard", "Lake Shore Drive"), True, 18),
    ("France", "FR", "fr", "+33", ("SAS", "SARL", "SA"), "EUR",
     (("Paris", "Île-de-France", "750##"), ("Lyon", "Auvergne-Rhône-Alpes", "6900#"),
      ("Marseille", "Provence-Alpes-Côte d'Azur", "130##"),
      ("Bordeaux", "Nouvelle-Aquitaine", "330##"), ("Lille", "Hauts-de-France", "590##")),
     ("Rue de la République", "Avenue des Champs-Élysées", "Rue Victor Hugo",
      "Boulevard Haussmann", "Rue du Commerce"), True, 8),
    ("Netherlands", "NL", "nl", "+31", ("B.V.", "N.V."), "EUR",
     (("Amsterdam", "Noord-Holland", "10## AB"), ("Rotterdam", "Zuid-Holland", "30## CD"),
      ("Utrecht", "Utrecht", "35## EF"), ("Eindhoven", "Noord-Brabant", "56## GH")),
     ("Keizersgracht", "Herengracht", "Damrak", "Stationsplein", "Kerkstraat"), False, 7),
    ("Sweden", "SE", "se", "+46", ("AB",), "SEK",
     (("Stockholm", "Stockholms län", "111 ##"), ("Göteborg", "Västra Götalands län", "411 ##"),
      ("Malmö", "Skåne län", "211 ##"), ("Uppsala", "Uppsala län", "753 ##")),
     ("Drottninggatan", "Kungsgatan", "Storgatan", "Sveavägen", "Vasagatan"), False, 6),
    ("Switzerland", "CH", "ch", "+41", ("AG", "GmbH", "SA"), "CHF",
     (("Zürich", "Zürich", "80##"), ("Genève", "Genève", "12##"), ("Basel", "Basel-Stadt", "40##"),
      ("Bern", "Bern", "30##")),
     ("Bahnhofstrasse", "Seestrasse", "Rue du Rhône", "Marktgasse", "Dorfstrasse"), False, 6),
    ("Estonia", "EE", "ee", "+372", ("OÜ", "AS"), "EUR",
     (("Tallinn", "Harju maakond", "10###"), ("Tartu", "Tartu maakond", "50###")),
     ("Narva mnt", "Pärnu mnt", "Tartu mnt", "Rävala pst", "Ülikooli"), False, 5),
    ("Spain", "ES", "es", "+34", ("S.L.", "S.A."), "EUR",
     (("Madrid", "Comunidad de Madrid", "280##"), ("Barcelona", "Cataluña", "080##"),
      ("Valencia", "Comunidad Valenciana", "460##"), ("Sevilla", "Andalucía", "410##")),
     ("Calle Mayor", "Gran Vía", "Paseo de Gracia", "Calle de Alcalá", "Avenida Diagonal"),
     False, 5),
    ("Japan", "JP", "co.jp", "+81", ("K.K.",), "JPY",
     (("Tokyo", "Tokyo", "100-00##"), ("Osaka", "Osaka", "530-00##")),
     ("Marunouchi", "Shibuya", "Roppongi", "Umeda"), False, 3),
)

EMAIL_PROVIDERS = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me", "gmx.de",
                   "web.de", "hotmail.co.uk")

JOB_TITLES = (
    "CEO", "CTO", "CFO", "COO", "Head of Sales", "VP Sales", "Sales Manager",
    "Account Executive", "Procurement Manager", "Purchasing Lead", "Head of Operations",
    "Operations Manager", "IT Manager", "Head of IT", "Marketing Director", "Marketing Manager",
    "Office Manager", "Finance Manager", "Project Manager", "Product Owner", "Founder",
    "Managing Director", "Business Development Manager", "HR Manager", "Team Lead",
)

# Real currencies: code, name, decimals, symbol.
CURRENCIES = (
    ("EUR", "Euro", 2, "€"), ("USD", "US Dollar", 2, "$"), ("GBP", "Pound Sterling", 2, "£"),
    ("SEK", "Swedish Krona", 2, "kr"), ("CHF", "Swiss Franc", 2, "CHF"),
    ("JPY", "Japanese Yen", 0, "¥"), ("NOK", "Norwegian Krone", 2, "kr"),
    ("DKK", "Danish Krone", 2, "kr."), ("PLN", "Polish Zloty", 2, "zł"),
    ("CZK", "Czech Koruna", 2, "Kč"), ("CAD", "Canadian Dollar", 2, "CA$"),
    ("AUD", "Australian Dollar", 2, "A$"), ("NZD", "New Zealand Dollar", 2, "NZ$"),
    ("INR", "Indian Rupee", 2, "₹"), ("BRL", "Brazilian Real", 2, "R$"),
    ("MXN", "Mexican Peso", 2, "MX$"), ("ZAR", "South African Rand", 2, "R"),
    ("SGD", "Singapore Dollar", 2, "S$"), ("HKD", "Hong Kong Dollar", 2, "HK$"),
    ("CNY", "Chinese Yuan", 2, "CN¥"), ("HUF", "Hungarian Forint", 2, "Ft"),
    ("TRY", "Turkish Lira", 2, "₺"), ("AED", "UAE Dirham", 2, "AED"),
    ("ILS", "Israeli New Shekel", 2, "₪"), ("KRW", "South Korean Won", 0, "₩"),
)
CUSTOM_CURRENCY = ("PTS", "Partner points", 0, "pts")

# Pipelines: name, probability enabled, stages (name, probability, days to rotten or None).
PIPELINES = (
    ("Sales pipeline", True, (
        ("Qualified", 10, None), ("Contact made", 20, 14), ("Demo scheduled", 40, 14),
        ("Proposal made", 60, 21), ("Negotiations started", 80, 30))),
    ("Partnerships", False, (
        ("Identified", 10, None), ("First meeting", 30, 30), ("Terms agreed", 70, 45),
        ("Contract signed", 90, None))),
    ("Renewals & upsell", True, (
        ("Renewal due", 20, None), ("In discussion", 40, 21), ("Quote sent", 60, 14),
        ("Verbal yes", 85, 10), ("Paperwork", 95, 7), ("Awaiting signature", 98, 5))),
)

DEAL_TOPICS = (
    "CRM rollout", "Annual licence", "Seat expansion", "Pilot project", "Onboarding package",
    "Renewal", "Upsell: premium support", "Hardware refresh", "Consulting retainer",
    "Data migration", "Training workshop", "Integration project", "Enterprise plan",
    "Team plan", "Multi-year agreement", "Nordics expansion", "Framework contract",
    "Proof of concept", "Managed service", "Reseller agreement",
)

LOST_REASONS = (
    "Price too high", "Went with a competitor", "No budget this year", "No decision / went dark",
    "Timing – revisit next year", "Missing feature", "Chose to build in-house",
    "Champion left the company",
)

LEAD_SOURCES = (
    ("Manually created", "ManuallyCreated", 40), ("Web forms", "WebForms", 18),
    ("Prospector", "Prospector", 8), ("Leadbooster", "LeadBooster", 8),
    ("Live chat", "LiveChat", 7), ("Import", "Import", 8),
    ("Website visitors", "WebsiteVisitors", 5), ("Workflow automation", "WorkflowAutomation", 3),
    ("API", "API", 3),
)
# Marketing channels: the options of the deal "channel" field.
CHANNELS = ("Organic search", "Paid search", "Social media", "Email marketing", "Referral",
            "Events", "Partner", "Direct traffic")

LEAD_LABELS = (("Hot", "red"), ("Warm", "yellow"), ("Cold", "blue"),
               ("Needs follow-up", "orange"), ("Partner referral", "purple"))

# Activity types: name, key, icon, is custom, color.
ACTIVITY_TYPES = (
    ("Call", "call", "call", False, "FFFFFF"), ("Meeting", "meeting", "meeting", False, "FFFFFF"),
    ("Task", "task", "task", False, "FFFFFF"),
    ("Deadline", "deadline", "deadline", False, "FFFFFF"),
    ("Email", "email", "email", False, "FFFFFF"), ("Lunch", "lunch", "lunch", False, "FFFFFF"),
    ("Product demo", "product_demo", "presentation", True, "2E86DE"),
)

ACTIVITY_SUBJECTS = {
    "call": ("Discovery call", "Follow-up call", "Check-in call", "Call about the proposal",
             "Pricing call", "Intro call"),
    "meeting": ("Kick-off meeting", "Quarterly business review", "Requirements workshop",
                "On-site visit", "Contract negotiation", "Stakeholder meeting"),
    "task": ("Send proposal", "Prepare quote", "Update CRM notes", "Send case studies",
             "Prepare contract draft", "Check references"),
    "deadline": ("Proposal deadline", "Budget approval deadline", "Tender submission",
                 "Contract signature due"),
    "email": ("Send follow-up email", "Email pricing sheet", "Send meeting summary",
              "Share onboarding plan"),
    "lunch": ("Lunch with the buying team", "Business lunch", "Lunch & learn"),
    "product_demo": ("Product demo", "Technical deep-dive demo", "Demo for the board"),
}

NOTE_TEMPLATES = (
    "<p>Spoke with {person}. Budget is approved for Q{q}; next step is a proposal.</p>",
    "<p>{org} wants a discount of {pct}% for a two-year commitment.</p>",
    "<p><b>Summary:</b> demo went well, {person} will loop in their IT lead.</p>",
    "<p>Decision expected in {weeks} weeks. Competitors in play: two local vendors.</p>",
    "<p>Sent the pricing sheet and case studies. Follow up next week.</p>",
    "<p>Key requirements:</p><ul><li>SSO</li><li>EU data residency</li><li>API access</li>"
    "</ul>",
    "<p>{person} prefers email over phone. Best reached mornings.</p>",
    "<p>Renewal at risk: usage dropped {pct}% last quarter.</p>",
    "<p>Met at the trade fair; interested in the {product} package.</p>",
    "<p>Legal is reviewing the DPA. Expected turnaround {weeks} weeks.</p>",
)

PRODUCTS = (
    # base name, code prefix, unit, category, base price, one-time?
    ("CRM Suite", "CRM", "licence", "Software", 49.0, False),
    ("Analytics Add-on", "ANL", "licence", "Software", 19.0, False),
    ("Premium Support", "SUP", "year", "Services", 1200.0, False),
    ("Onboarding Package", "ONB", "package", "Services", 2500.0, True),
    ("Training Day", "TRN", "day", "Services", 1400.0, True),
    ("Consulting Hour", "CON", "hour", "Services", 150.0, True),
    ("Data Migration", "MIG", "project", "Services", 4000.0, True),
    ("API Access", "API", "licence", "Software", 99.0, False),
    ("Barcode Scanner", "HW", "piece", "Hardware", 320.0, True),
    ("Conference Kit", "HW", "piece", "Hardware", 890.0, True),
    ("Storage Pack 1 TB", "STO", "pack", "Software", 9.0, False),
    ("Security Audit", "SEC", "project", "Services", 6500.0, True),
)
PRODUCT_EDITIONS = ("", " Starter", " Professional", " Enterprise", " Plus", " Lite")

USERS = (
    ("Alex Morgan", "Europe/Berlin", "+01:00", "en_US"),
    ("Sofia Lindqvist", "Europe/Stockholm", "+01:00", "sv_SE"),
    ("Jonas Becker", "Europe/Berlin", "+01:00", "de_DE"),
    ("Emily Carter", "Europe/London", "+00:00", "en_GB"),
    ("Lucas Martin", "Europe/Paris", "+01:00", "fr_FR"),
    ("Priya Shah", "Europe/London", "+00:00", "en_GB"),
    ("Mart Tamm", "Europe/Tallinn", "+02:00", "et_EE"),
    ("Daniel Brooks", "America/New_York", "-05:00", "en_US"),
    ("Laura Keller", "Europe/Zurich", "+01:00", "de_CH"),
    ("Marco Rossi", "Europe/Rome", "+01:00", "it_IT"),
    ("Hannah Weber", "Europe/Berlin", "+01:00", "de_DE"),
    ("Oliver Grant", "America/Chicago", "-06:00", "en_US"),
    ("Ines Garcia", "Europe/Madrid", "+01:00", "es_ES"),
    ("Yuki Tanaka", "Asia/Tokyo", "+09:00", "ja_JP"),
    ("Erik Nilsson", "Europe/Stockholm", "+01:00", "sv_SE"),
    ("Chloe Dubois", "Europe/Paris", "+01:00", "fr_FR"),
    ("Ben Walker", "Europe/London", "+00:00", "en_GB"),
    ("Nora Berg", "Europe/Oslo", "+01:00", "nb_NO"),
    ("Kaspar Saar", "Europe/Tallinn", "+02:00", "et_EE"),
    ("Grace Chen", "America/Los_Angeles", "-08:00", "en_US"),
)

COMPANY = {"company_id": "7654321", "company_name": "Brightwave Solutions",
           "company_domain": "brightwave", "company_country": "DE",
           "company_industry": "Information technology"}
