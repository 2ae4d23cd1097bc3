package customerdata

// Surnames with their approximate frequency per 100,000 people in the United
// States (2010 census), so that a surname fragment matches a realistic share.
var surnames = newWeighted(
	"Smith", 828, "Johnson", 655, "Williams", 551, "Brown", 487, "Jones", 481,
	"Garcia", 392, "Miller", 382, "Davis", 380, "Rodriguez", 363, "Martinez", 350,
	"Hernandez", 341, "Lopez", 287, "Gonzalez", 282, "Wilson", 274, "Anderson", 267,
	"Thomas", 264, "Taylor", 260, "Moore", 242, "Jackson", 235, "Martin", 234,
	"Lee", 229, "Perez", 224, "Thompson", 224, "White", 222, "Harris", 208,
	"Sanchez", 206, "Clark", 181, "Ramirez", 179, "Lewis", 174, "Robinson", 172,
	"Walker", 170, "Young", 166, "Allen", 164, "King", 163, "Wright", 161,
	"Scott", 150, "Torres", 147, "Nguyen", 146, "Hill", 146, "Flores", 145,
	"Green", 144, "Adams", 143, "Nelson", 141, "Baker", 138, "Hall", 137,
	"Rivera", 133, "Campbell", 130, "Mitchell", 129, "Carter", 128, "Roberts", 128,
	"Gomez", 118, "Phillips", 117, "Evans", 115, "Turner", 114, "Diaz", 113,
	"Parker", 113, "Cruz", 110, "Edwards", 109, "Collins", 108, "Reyes", 107,
	"Stewart", 106, "Morris", 104, "Morales", 102, "Murphy", 102, "Cook", 101,
	"Rogers", 99, "Gutierrez", 97, "Ortiz", 97, "Morgan", 96, "Cooper", 95,
	"Peterson", 94, "Bailey", 93, "Reed", 92, "Kelly", 91, "Howard", 90,
	"Ramos", 90, "Kim", 89, "Cox", 89, "Ward", 88, "Richardson", 88,
	"Watson", 86, "Brooks", 85, "Chavez", 85, "Wood", 84, "James", 84,
	"Bennett", 83, "Gray", 83, "Mendoza", 82, "Ruiz", 82, "Hughes", 81,
	"Price", 80, "Alvarez", 80, "Castillo", 79, "Sanders", 78, "Patel", 78,
	"Myers", 77, "Long", 76, "Ross", 76, "Foster", 76, "Jimenez", 75,
	"Powell", 74, "Jenkins", 73, "Perry", 72, "Russell", 71, "Sullivan", 70,
	"Bell", 70, "Coleman", 70, "Butler", 69, "Henderson", 69, "Barnes", 68,
	"Gonzales", 67, "Fisher", 67, "Vasquez", 66, "Simmons", 65, "Romero", 64,
	"Jordan", 64, "Patterson", 63, "Alexander", 63, "Hamilton", 63, "Graham", 63,
	"Reynolds", 62, "Griffin", 62, "Wallace", 61, "Moreno", 61, "West", 61,
	"Cole", 60, "Hayes", 60, "Bryant", 59, "Herrera", 59, "Gibson", 59,
	"Ellis", 58, "Tran", 58, "Medina", 58, "Aguilar", 57, "Stevens", 57,
	"Murray", 57, "Ford", 56, "Castro", 56, "Marshall", 56, "Owens", 56,
	"Harrison", 55, "Fernandez", 55, "McDonald", 55, "Woods", 54, "Washington", 54,
	"Kennedy", 54, "Wells", 53, "Vargas", 53, "Henry", 53, "Chen", 52,
	"Freeman", 52, "Webb", 52, "Tucker", 52, "Guzman", 51, "Burns", 51,
	"Crawford", 51, "Olson", 50, "Simpson", 50, "Porter", 50, "Hunter", 49,
	"Gordon", 49, "Mendez", 49, "Silva", 48, "Shaw", 48, "Snyder", 48,
	"Mason", 48, "Dixon", 47, "Munoz", 47, "Hunt", 47, "Hicks", 47,
	"Holmes", 46, "Palmer", 46, "Wagner", 46, "Black", 46, "Robertson", 46,
	"Boyd", 45, "Rose", 45, "Stone", 45, "Salazar", 45, "Fox", 45,
	"Warren", 44, "Mills", 44, "Meyer", 44, "Rice", 44, "Schmidt", 43,
	"Garza", 43, "Daniels", 43, "Ferguson", 43, "Nichols", 42, "Stephens", 42,
	"Soto", 42, "Weaver", 42, "Ryan", 42, "Gardner", 41, "Payne", 41,
	"Grant", 41, "Dunn", 41, "Kelley", 40, "Spencer", 40, "Hawkins", 40,
	"Arnold", 40, "Pierce", 40, "Vazquez", 39, "Hansen", 39, "Peters", 39,
	"Santos", 39, "Hart", 39, "Bradley", 38, "Knight", 38, "Elliott", 38,
	"Cunningham", 38, "Duncan", 37, "Armstrong", 37, "Hudson", 37, "Carroll", 37,
	"Lane", 37, "Riley", 37, "Andrews", 37, "Alvarado", 37, "Ray", 37,
	"Delgado", 36, "Berry", 36, "Perkins", 36, "Hoffman", 36, "Johnston", 36,
	"Matthews", 36, "Pena", 36, "Richards", 36, "Contreras", 35, "Willis", 35,
	"Carpenter", 35, "Lawrence", 35, "Sandoval", 35, "Guerrero", 35, "George", 35,
	"Chapman", 35, "Rios", 35, "Estrada", 34, "Ortega", 34, "Watkins", 34,
	"Greene", 34, "Nunez", 34, "Wheeler", 34, "Valdez", 34, "Harper", 34,
	"Burke", 33, "Larson", 33, "Santiago", 33, "Maldonado", 33, "Morrison", 33,
	"Franklin", 33, "Carlson", 32, "Austin", 32, "Dominguez", 32, "Carr", 32,
	"Lawson", 32, "Jacobs", 32, "Obrien", 32, "Lynch", 32, "Singh", 32,
	"Vega", 32, "Bishop", 31, "Montgomery", 31, "Oliver", 31, "Jensen", 31,
	"Harvey", 31, "Williamson", 31, "Gilbert", 31, "Dean", 31, "Sims", 31,
	"Espinoza", 31, "Howell", 31, "Li", 31, "Wong", 30, "Reid", 30,
	"Hanson", 30, "Le", 30, "McCoy", 30, "Garrett", 30, "Burton", 30,
	"Fuller", 30, "Wang", 30, "Weber", 29, "Welch", 29, "Rojas", 29,
	"Lucas", 29, "Marquez", 29, "Fields", 29, "Park", 29, "Yang", 29,
	"Little", 29, "Banks", 29, "Padilla", 29, "Day", 29, "Walsh", 28,
	"Bowman", 28, "Schultz", 28, "Luna", 28, "Fowler", 28, "Mejia", 28,
	"Davidson", 28, "Acosta", 28, "Brewer", 28, "May", 28, "Holland", 28,
	"Juarez", 28, "Newman", 27, "Pearson", 27, "Curtis", 27, "Cortez", 27,
	"Douglas", 27, "Schneider", 27, "Joseph", 27, "Barrett", 27, "Navarro", 27,
	"Figueroa", 27, "Keller", 27, "Avila", 27, "Wade", 27, "Molina", 27,
	"Stanley", 27, "Hopkins", 27, "Campos", 27, "Barnett", 26, "Bates", 26,
)

var firstNames = []string{
	"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda",
	"David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica",
	"Thomas", "Sarah", "Christopher", "Karen", "Charles", "Lisa", "Daniel", "Nancy",
	"Matthew", "Betty", "Anthony", "Sandra", "Mark", "Margaret", "Donald", "Ashley",
	"Steven", "Kimberly", "Andrew", "Emily", "Paul", "Donna", "Joshua", "Michelle",
	"Kenneth", "Carol", "Kevin", "Amanda", "Brian", "Melissa", "George", "Deborah",
	"Timothy", "Stephanie", "Ronald", "Dorothy", "Jason", "Rebecca", "Edward", "Sharon",
	"Jeffrey", "Laura", "Ryan", "Cynthia", "Jacob", "Amy", "Gary", "Kathleen",
	"Nicholas", "Angela", "Eric", "Shirley", "Jonathan", "Brenda", "Stephen", "Emma",
	"Larry", "Anna", "Justin", "Pamela", "Scott", "Nicole", "Brandon", "Samantha",
	"Benjamin", "Katherine", "Samuel", "Christine", "Gregory", "Helen", "Alexander", "Debra",
	"Patrick", "Rachel", "Frank", "Carolyn", "Raymond", "Janet", "Jack", "Maria",
	"Dennis", "Catherine", "Jerry", "Heather", "Tyler", "Diane", "Aaron", "Olivia",
	"Jose", "Julie", "Adam", "Joyce", "Nathan", "Victoria", "Henry", "Ruth",
	"Zachary", "Virginia", "Douglas", "Lauren", "Peter", "Kelly", "Kyle", "Christina",
	"Noah", "Joan", "Ethan", "Evelyn", "Jeremy", "Judith", "Walter", "Andrea",
	"Christian", "Hannah", "Keith", "Megan", "Roger", "Cheryl", "Terry", "Jacqueline",
	"Austin", "Martha", "Sean", "Madison", "Gerald", "Teresa", "Carl", "Gloria",
	"Harold", "Sara", "Dylan", "Janice", "Arthur", "Ann", "Lawrence", "Kathryn",
	"Jordan", "Abigail", "Jesse", "Sophia", "Bryan", "Frances", "Billy", "Jean",
	"Bruce", "Alice", "Gabriel", "Judy", "Joe", "Isabella", "Logan", "Julia",
	"Alan", "Grace", "Juan", "Amber", "Albert", "Denise", "Willie", "Danielle",
	"Elijah", "Marilyn", "Wayne", "Beverly", "Randy", "Charlotte", "Vincent", "Natalie",
	"Mason", "Theresa", "Roy", "Diana", "Ralph", "Brittany", "Bobby", "Doris",
	"Russell", "Kayla", "Bradley", "Alexis", "Philip", "Lori", "Eugene", "Marie",
	"Luis", "Ana", "Carlos", "Sofia", "Miguel", "Camila", "Wei", "Mei",
	"Minh", "Linh", "Raj", "Priya", "Ahmed", "Fatima", "Hiroshi", "Yuki",
}

var industries = []string{
	"Telecom", "Networks", "Communications", "Wireless", "Fiber", "Cable",
	"Logistics", "Freight", "Construction", "Plumbing", "Electric", "Dental",
	"Medical", "Legal", "Consulting", "Software", "Technologies", "Data",
	"Energy", "Solar", "Water", "Foods", "Bakery", "Farms", "Auto", "Motors",
	"Realty", "Properties", "Insurance", "Financial", "Printing", "Design",
	"Hardware", "Supply", "Manufacturing", "Machine", "Tool", "Marine",
	"Hospitality", "Travel", "Fitness", "Veterinary", "Pharmacy", "Cleaning",
}

var companyWords = []string{
	"Northwind", "Blue Ridge", "Summit", "Pioneer", "Cascade", "Lakeside", "Riverbend",
	"Golden Gate", "Prairie", "Evergreen", "Redwood", "Silverline", "Keystone",
	"Harbor", "Liberty", "Frontier", "Granite", "Maple", "Oakwood", "Pinnacle",
	"Coastal", "Heartland", "Sterling", "Meridian", "Beacon", "Crescent", "Apex",
	"Bayview", "Highland", "Ironwood", "Sunrise", "Westfield", "Eastgate", "Millbrook",
	"Stonebridge", "Timberline", "Clearwater", "Bright Star", "Union", "Capital",
}

var companySuffixes = []string{"LLC", "Inc", "Co", "Corp", "Group", "Partners", "Ltd", "& Sons", "Services", "Associates"}

var streets = []string{
	"Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill",
	"Park", "Walnut", "Sunset", "Lincoln", "Jackson", "Church", "River", "Willow",
	"Highland", "Franklin", "Center", "Spring", "Meadow", "Forest", "Ridge", "Valley",
	"Madison", "Jefferson", "Adams", "Chestnut", "Mill", "Broad", "Market", "Union",
	"Railroad", "Prospect", "Liberty", "Cherry", "Dogwood", "Magnolia", "Birch",
}

var streetKinds = []string{"St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Ct", "Way", "Pl", "Pkwy"}

type city struct {
	name, state string
	zip         int
}

var cities = []city{
	{"New York", "NY", 10001}, {"Los Angeles", "CA", 90001}, {"Chicago", "IL", 60601},
	{"Houston", "TX", 77001}, {"Phoenix", "AZ", 85001}, {"Philadelphia", "PA", 19101},
	{"San Antonio", "TX", 78201}, {"San Diego", "CA", 92101}, {"Dallas", "TX", 75201},
	{"Austin", "TX", 73301}, {"Jacksonville", "FL", 32099}, {"Fort Worth", "TX", 76101},
	{"Columbus", "OH", 43085}, {"Charlotte", "NC", 28201}, {"Indianapolis", "IN", 46201},
	{"Seattle", "WA", 98101}, {"Denver", "CO", 80201}, {"Nashville", "TN", 37201},
	{"Oklahoma City", "OK", 73101}, {"El Paso", "TX", 79901}, {"Boston", "MA", 2101},
	{"Portland", "OR", 97201}, {"Las Vegas", "NV", 88901}, {"Detroit", "MI", 48201},
	{"Memphis", "TN", 37501}, {"Louisville", "KY", 40201}, {"Baltimore", "MD", 21201},
	{"Milwaukee", "WI", 53201}, {"Albuquerque", "NM", 87101}, {"Tucson", "AZ", 85701},
	{"Fresno", "CA", 93701}, {"Sacramento", "CA", 94203}, {"Kansas City", "MO", 64101},
	{"Atlanta", "GA", 30301}, {"Omaha", "NE", 68101}, {"Raleigh", "NC", 27601},
	{"Miami", "FL", 33101}, {"Minneapolis", "MN", 55401}, {"Tulsa", "OK", 74101},
	{"Cleveland", "OH", 44101}, {"Wichita", "KS", 67201}, {"Tampa", "FL", 33601},
	{"Boise", "ID", 83701}, {"Des Moines", "IA", 50301}, {"Spokane", "WA", 99201},
	{"Little Rock", "AR", 72201}, {"Salt Lake City", "UT", 84101}, {"Richmond", "VA", 23218},
}

var mailDomains = []string{"example.com", "example.net", "example.org", "mail.example.com", "inbox.example.net"}

var sources = []string{"Web signup", "Sales call", "Partner referral", "Import 2019", "Retail store", "Trade show"}

var cultures = []string{"en-US", "en-US", "en-US", "en-US", "es-US", "en-CA", "fr-CA"}

var billingMethods = []string{"EMAIL_ONLY", "EMAIL_ONLY", "BOTH", "PRINT_ONLY", "NONE"}

var regions = []string{"Northeast", "Southeast", "Midwest", "Southwest", "West", "Pacific Northwest", "Mountain"}

var notes = []string{
	"Prefers contact by email before 5pm local time.",
	"Migrated from the previous billing platform; verify taxes on first invoice.",
	"Key account: escalate service tickets to the account manager.",
	"Seasonal business, usage peaks in summer.",
	"Requested paper invoices for the accounting department.",
	"Multiple sites; see service address for the main location.",
}

var statuses = newWeighted("OPEN", 80, "PENDING", 6, "PROSPECT", 4, "CLOSED", 10)
