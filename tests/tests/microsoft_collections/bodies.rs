//! Request bodies of Microsoft's two SCIM test collections in the public
//! `AzureAD/SCIMReferenceCode` repository, as published (protocol data, reproduced
//! byte for byte apart from indentation): `SCIM Inbound.postman_collection.json`
//! (`INBOUND_*`) and `PostmanCollection.json` (`PC_*`). Postman variables stay in their
//! `{{name}}` form and are filled in by the test; `${__UUID}` is not a Postman variable
//! and is sent literally, as Postman sends it.

/// SCIM Inbound: "Create Employee" (POST).
pub const INBOUND_CREATE_EMPLOYEE: &str = r##"{
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    ],
    "externalId": "{{$guid}}",
    "userName": "{{userName}}",
    "name": {
        "givenName": "{{givenName}}",
        "familyName": "{{familyName}}"
    },
    "active": true,
    "displayName": "{{displayName}}",
    "locale": "{{$randomCountryCode}}",
    "userType": "Employee",
    "title": "{{$randomJobTitle}}",
    "emails": [
        {
            "value": "{{$isoTimestamp}}",
            "display": "john@woodgrove.com",
            "type": "work",
            "primary": true
        },
		{
			"value": "john@example.com",
			"display": "john@example.com",
			"type": "home"
		}
    ],
    "phoneNumbers": [
        {
            "value": "+1 {{$randomPhoneNumber}}",
            "type": "work",
            "primary": true
        }
    ],
    "addresses": [
        {
            "streetAddress": "One Microsoft Way",
            "locality": "Redmond",
            "region": "WA",
            "postalCode": "98052",
            "country": "US",
            "type": "work",
            "primary": true
        }
    ],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
        "employeeNumber": "{{$randomInt}}",
        "organization": "SCIM Corporation",
        "department": "{{$randomJobArea}}"
    }
}"##;

/// SCIM Inbound: "Create Contractor with manager (last user)" (POST).
pub const INBOUND_CREATE_CONTRACTOR_WITH_MANAGER_LAST_USER: &str = r##"{
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    ],
    "externalId": "{{$guid}}",
    "userName": "{{userName}}",
    "name": {
        "givenName": "{{givenName}}",
        "familyName": "{{familyName}}"
    },
    "active": true,
    "displayName": "{{displayName}}",
    "locale": "{{$randomCountryCode}}",
    "userType": "Contractor",
    "title": "{{$randomJobTitle}}",
    "emails": [
        {
            "value": "john@woodgrove.com",
            "display": "john@woodgrove.com",
            "type": "work",
            "primary": true
        },
		{
			"value": "john@example.com",
			"display": "john@example.com",
			"type": "home"
		}
    ],
    "phoneNumbers": [
        {
            "value": "+1 {{$randomPhoneNumber}}",
            "type": "work",
            "primary": true
        }
    ],
    "addresses": [
        {
            "streetAddress": "One Microsoft Way",
            "locality": "Redmond",
            "region": "WA",
            "postalCode": "98052",
            "country": "US",
            "type": "work",
            "primary": true
        }
    ],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
        "employeeNumber": "{{$randomInt}}",
        "organization": "SCIM Corporation",
        "department": "{{$randomJobArea}}",
        "manager": {
            "value": "{{lastUserId}}"
        }
    }
}"##;

/// SCIM Inbound: "Create Employee with manager (last user)" (POST).
pub const INBOUND_CREATE_EMPLOYEE_WITH_MANAGER_LAST_USER: &str = r##"{
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    ],
    "externalId": "{{$guid}}",
    "userName": "{{userName}}",
    "name": {
        "givenName": "{{givenName}}",
        "familyName": "{{familyName}}"
    },
    "active": false,
    "displayName": "{{displayName}}",
    "locale": "{{$randomCountryCode}}",
    "userType": "Employee",
    "title": "{{$randomJobTitle}}",
    "emails": [
        {
            "value": "john@woodgrove.com",
            "display": "john@woodgrove.com",
            "type": "work",
            "primary": true
        },
		{
			"value": "john@example.com",
			"display": "john@example.com",
			"type": "home"
		}
    ],
    "phoneNumbers": [
        {
            "value": "+1 {{$randomPhoneNumber}}",
            "type": "work",
            "primary": true
        }
    ],
    "addresses": [
        {
            "streetAddress": "One Microsoft Way",
            "locality": "Redmond",
            "region": "WA",
            "postalCode": "98052",
            "country": "US",
            "type": "work",
            "primary": true
        }
    ],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
        "employeeNumber": "{{$randomInt}}",
        "organization": "SCIM Corporation",
        "department": "{{$randomJobArea}}",
        "manager": {
            "value": "{{lastUserId}}"
        }
    }
}"##;

/// SCIM Inbound: "Create Employee (inactive)" (POST).
pub const INBOUND_CREATE_EMPLOYEE_INACTIVE: &str = r##"{
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    ],
    "externalId": "{{$guid}}",
    "userName": "{{userName}}",
    "name": {
        "givenName": "{{givenName}}",
        "familyName": "{{familyName}}"
    },
    "active": false,
    "displayName": "{{displayName}}",
    "locale": "{{$randomCountryCode}}",
    "userType": "Employee",
    "title": "{{$randomJobTitle}}",
    "emails": [
        {
            "value": "john@woodgrove.com",
            "display": "john@woodgrove.com",
            "type": "work",
            "primary": true
        },
		{
			"value": "john@example.com",
			"display": "john@example.com",
			"type": "home"
		}
    ],
    "phoneNumbers": [
        {
            "value": "+1 {{$randomPhoneNumber}}",
            "type": "work",
            "primary": true
        }
    ],
    "addresses": [
        {
            "streetAddress": "One Microsoft Way",
            "locality": "Redmond",
            "region": "WA",
            "postalCode": "98052",
            "country": "US",
            "type": "work",
            "primary": true
        }
    ],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
        "employeeNumber": "{{$randomInt}}",
        "organization": "SCIM Corporation",
        "department": "{{$randomJobArea}}"
    }
}"##;

/// SCIM Inbound: "Update User (lastname)" (PATCH).
pub const INBOUND_UPDATE_USER_LASTNAME: &str = r##"{
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "replace",
            "path": "name.familyName",
            "value": "{{$randomLastName}}"
        }
    ]
}"##;

/// SCIM Inbound: "Update User (active)" (PATCH).
pub const INBOUND_UPDATE_USER_ACTIVE: &str = r##"{
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "replace",
            "path": "active",
            "value": true
        }
    ]
}"##;

/// SCIM Inbound: "Update User (manager)" (PATCH).
pub const INBOUND_UPDATE_USER_MANAGER: &str = r##"{
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "replace",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.manager",
            "value": "{{lastManagerUserId}}"
        }
    ]
}"##;

/// PostmanCollection.json: User tests › "Post User" (POST).
pub const PC_USER_TESTS_POST_USER: &str = r##"{
    "userName": "UserName123",
    "active": true,
    "displayName": "BobIsAmazing",
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User"
    ],
  "externalId": "${__UUID}",
    "name": {
        "formatted": "Ryan Leenay",
        "familyName": "Leenay",
        "givenName": "Ryan"
    },
    "emails": [
        {
            "Primary": true,
            "type": "work",
            "value": "testing@bob.com"
        },
        {
            "Primary": false,
            "type": "home",
            "value": "testinghome@bob.com"
        }
    ]
}"##;

/// PostmanCollection.json: User tests › "Post EnterpriseUser" (POST).
pub const PC_USER_TESTS_POST_ENTERPRISEUSER: &str = r##"{
    "userName": "UserName222",
    "active": true,
    "displayName": "lennay",
    "schemas": [
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:User"
    ],
  "externalId": "${__UUID}",
    "name": {
        "formatted": "Adrew Ryan",
        "familyName": "Ryan",
        "givenName": "Andrew"
    },
    "emails": [
        {
            "Primary": true,
            "type": "work",
            "value": "testing@bob2.com"
        },
        {
            "Primary": false,
            "type": "home",
            "value": "testinghome@bob3.com"
        }
    ],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
    		"Department": "bob",
    		"Manager" : { "Value": "SuzzyQ" }
    }
}"##;

/// PostmanCollection.json: User tests › "patch user1" (PATCH).
pub const PC_USER_TESTS_PATCH_USER1: &str = r##"{
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "replace",
            "path": "userName",
            "value": "ryan3"
        }
    ]
}"##;

/// PostmanCollection.json: User tests › "User 2 replace test" (PUT).
pub const PC_USER_TESTS_USER_2_REPLACE_TEST: &str = r##"{
    "userName": "UserNameReplace2",
    "active": true,
    "displayName": "BobIsAmazing",
    "schemas": [
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:User"
    ],
    "id": "{{id2}}",
    "externalId": "${__UUID}",
    "name": {
        "formatted": "NewName",
        "familyName": "Leenay",
        "givenName": "Ryan"
    },
    "emails": [
        {
            "Primary": true,
            "type": "work",
            "value": "testing@bobREPLACE.com"
        },
        {
            "Primary": false,
            "type": "home",
            "value": "testinghome@bob.com"
        }
    ]
}"##;

/// PostmanCollection.json: Group tests › "Create empty group" (POST).
pub const PC_GROUP_TESTS_CREATE_EMPTY_GROUP: &str = r##"{
  "externalId":"${__UUID}",
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
  "displayName": "Group1DisplayName",
  "members":[]
}"##;

/// PostmanCollection.json: Group tests › "create user for group 2" (POST).
pub const PC_GROUP_TESTS_CREATE_USER_FOR_GROUP_2: &str = r##"{
    "userName": "UserName333",
    "active": true,
    "displayName": "lennay",
    "schemas": [
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:User"
    ],
  "externalId": "${__UUID}",
    "name": {
        "formatted": "Adrew Ryan",
        "familyName": "Ryan",
        "givenName": "Andrew"
    },
    "emails": [
        {
            "Primary": true,
            "type": "work",
            "value": "testing@bob2.com"
        },
        {
            "Primary": false,
            "type": "home",
            "value": "testinghome@bob3.com"
        }
    ]
}"##;

/// PostmanCollection.json: Group tests › "Create user 4 for group 2" (POST).
pub const PC_GROUP_TESTS_CREATE_USER_4_FOR_GROUP_2: &str = r##"{
    "userName": "UserName444",
    "active": true,
    "displayName": "lennay",
    "schemas": [
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:User"
    ],
  "externalId": "${__UUID}",
    "name": {
        "formatted": "Adrew Ryan",
        "familyName": "Ryan",
        "givenName": "Andrew"
    },
    "emails": [
        {
            "Primary": true,
            "type": "work",
            "value": "testing@bob2.com"
        },
        {
            "Primary": false,
            "type": "home",
            "value": "testinghome@bob3.com"
        }
    ]
}"##;

/// PostmanCollection.json: Group tests › "Create filled group 2" (POST).
pub const PC_GROUP_TESTS_CREATE_FILLED_GROUP_2: &str = r##"{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
  "externalId":"${__UUID}",
  "displayName": "GroupDisplayName2",
  "members":
  [
  	{
  		"value":"{{id3}}",
  		"display":"VP"
  	}	
  ]
}"##;

/// PostmanCollection.json: Group tests › "Create group 3" (POST).
pub const PC_GROUP_TESTS_CREATE_GROUP_3: &str = r##"{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
  "externalId":"${__UUID}",
  "displayName": "GroupDisplayName3",
  "members":[]
}"##;

/// PostmanCollection.json: Group tests › "Put replace group3" (PUT).
pub const PC_GROUP_TESTS_PUT_REPLACE_GROUP3: &str = r##"{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
  "id":"{{groupid3}}",
  "displayName": "putName",
  "members":[
  	{
  		"value": "{{id3}}",
  		"display":"VP"
  	},
  	{
  		"value":"{{id4}}",
  		"display":"SenorVP"
  	}
  ]
}"##;

/// PostmanCollection.json: Group tests › "Patch add user4 to group1" (PATCH).
pub const PC_GROUP_TESTS_PATCH_ADD_USER4_TO_GROUP1: &str = r##"{
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "name": "addMember",
            "op": "add",
            "path": "members",
            "value": [
            	{
            		"displayName":"new User",
            		"value":"{{id4}}"	
            	}
            	]
            
        }
    ]
}"##;

/// PostmanCollection.json: Group tests › "Patch remove user4 to group1" (PATCH).
pub const PC_GROUP_TESTS_PATCH_REMOVE_USER4_TO_GROUP1: &str = r##"{
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "remove",
            "path": "members[value eq \"{{id4}}\"]"
        }
    ]
}"##;

/// PostmanCollection.json: Group tests › "Patch remove all users" (PATCH).
pub const PC_GROUP_TESTS_PATCH_REMOVE_ALL_USERS: &str = r##"{
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "remove",
            "path": "members"
        }
    ]
}"##;

/// PostmanCollection.json: ComplexAttribute tests › "create user1" (POST).
pub const PC_COMPLEXATTRIBUTE_TESTS_CREATE_USER1: &str = r##"{
    "userName": "UserName111",
    "active": true,
    "displayName": "BobIsAmazing",
    "schemas": [
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:User"
    ],
  "externalId": "${__UUID}",
    "name": {
        "formatted": "Ryan Leenay",
        "familyName": "Leenay",
        "givenName": "Ryan"
    },
    "emails": [
        {
            "Primary": true,
            "type": "work",
            "value": "emailName357"
        },
        {
            "Primary": false,
            "type": "home",
            "value": "testinghome@bob.com"
        }
    ]
}"##;

/// PostmanCollection.json: ComplexAttribute tests › "create user2" (POST).
pub const PC_COMPLEXATTRIBUTE_TESTS_CREATE_USER2: &str = r##"{
    "userName": "UserName222",
    "active": true,
    "displayName": "BobIsAmazing",
    "schemas": [
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:User"
    ],
  "externalId": "${__UUID}",
    "name": {
        "formatted": "Ryan Leenay",
        "familyName": "Leenay",
        "givenName": "Ryan"
    },
    "emails": [
        {
            "Primary": true,
            "type": "work",
            "value": "jump@bob.com"
        },
        {
            "Primary": false,
            "type": "home",
            "value": "testinghome@bob.com"
        }
    ]
}"##;

/// PostmanCollection.json: User tests with garbage › "Post user "OMalley"" (POST).
pub const PC_USER_TESTS_WITH_GARBAGE_POST_USER_OMALLEY: &str = r##"{
    "userName": "OMalley",
    "active": true,
    "addresses": [
        {
            "country": "Bermuda",
            "formatted": "9132 Jennifer Way Suite 040\nSouth Nancy, MI 55645",
            "locality": "West Mercedes",
            "postalCode": "99265",
            "region": "Montana",
            "streetAddress": "4939 Hess Fork",
            "type": "work",
            "primary": false
        },
        {
            "country": null,
            "formatted": "18522 Lisa Unions\nEast Gregory, CT 52311",
            "locality": null,
            "postalCode": null,
            "region": null,
            "streetAddress": null,
            "type": "other",
            "primary": false
        }
    ],
    "displayName": "Kimberly Baker",
    "emails": [
        {
            "type": "work",
            "primary": true,
            "value": "anna33@example.com"
        },
        {
            "type": "other",
            "primary": false,
            "value": "anna33@gmail.com"
        }
    ],
    "meta": {
        "created": "2019-09-18T18:15:26.5788954+00:00",
        "lastModified": "2019-09-18T18:15:26.5788976+00:00",
        "resourceType": "User"
    },
    "name": {
        "formatted": "Daniel Mcgee",
        "familyName": "OMalley",
        "givenName": "Darl",
        "honorificPrefix": null,
        "honorificSuffix": null
    },
    "phoneNumbers": [
        {
            "type": "fax",
            "primary": false,
            "value": "312-320-0500"
        },
        {
            "type": "mobile",
            "primary": false,
            "value": "312-320-1707"
        },
        {
            "type": "work",
            "primary": true,
            "value": "312-320-0932"
        }
    ],
    "preferredLanguage": "xh",
    "roles": [],
    "title": "Site engineer",
    "externalId": "22fbc523-6032-4c5f-939d-5d4850cf3e52",
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User"
    ]
}"##;

/// PostmanCollection.json: User tests with garbage › "Post emp1 with string "True"" (POST).
pub const PC_USER_TESTS_WITH_GARBAGE_POST_EMP1_WITH_STRING_TRUE: &str = r##"{
    "userName": "emp1",
    "active": "True",
    "addresses": [
        {
            "country": "Bermuda",
            "formatted": "9132 Jennifer Way Suite 040\nSouth Nancy, MI 55645",
            "locality": "West Mercedes",
            "postalCode": "99265",
            "region": "Montana",
            "streetAddress": "4939 Hess Fork",
            "type": "work",
            "primary": false
        },
        {
            "country": null,
            "formatted": "18522 Lisa Unions\nEast Gregory, CT 52311",
            "locality": null,
            "postalCode": null,
            "region": null,
            "streetAddress": null,
            "type": "other",
            "primary": false
        }
    ],
    "displayName": "Kimberly Baker",
    "emails": [
        {
            "type": "work",
            "primary": true,
            "value": "anna33@gmail.com"
        },
        {
            "type": "work",
            "primary": false,
            "value": "anna33@example.com"
        }
    ],
    "meta": {
        "created": "2019-09-18T18:15:26.5788954+00:00",
        "lastModified": "2019-09-18T18:15:26.5788976+00:00",
        "resourceType": "User"
    },
    "name": {
        "formatted": "Daniel Mcgee",
        "familyName": "Employee",
        "givenName": "Darl",
        "honorificPrefix": null,
        "honorificSuffix": null
    },
    "phoneNumbers": [
        {
            "type": "fax",
            "primary": false,
            "value": "312-320-0500"
        },
        {
            "type": "mobile",
            "primary": false,
            "value": "312-320-1707"
        },
        {
            "type": "work",
            "primary": true,
            "value": "312-320-0932"
        }
    ],
    "preferredLanguage": "xh",
    "roles": [],
    "title": "Site engineer",
    "externalId": "22fbc523-6032-4c5f-939d-5d4850cf3e52",
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User"
    ]
}"##;

/// PostmanCollection.json: User tests with garbage › "Post emp2" (POST).
pub const PC_USER_TESTS_WITH_GARBAGE_POST_EMP2: &str = r##"{
    "userName": "emp2",
    "active": true,
    "addresses": [
        {
            "country": "Bermuda",
            "formatted": "9132 Jennifer Way Suite 040\nSouth Nancy, MI 55645",
            "locality": "West Mercedes",
            "postalCode": "99265",
            "region": "Montana",
            "streetAddress": "4939 Hess Fork",
            "type": "work",
            "primary": false
        },
        {
            "country": null,
            "formatted": "18522 Lisa Unions\nEast Gregory, CT 52311",
            "locality": null,
            "postalCode": null,
            "region": null,
            "streetAddress": null,
            "type": "other",
            "primary": false
        }
    ],
    "displayName": "Kimberly Baker",
    "emails": [
        {
            "type": "work",
            "primary": true,
            "value": "anna33@gmail.com"
        },
        {
            "type": "work",
            "primary": false,
            "value": "anna33@example.com"
        }
    ],
    "meta": {
        "created": "2019-09-18T18:15:26.5788954+00:00",
        "lastModified": "2019-09-18T18:15:26.5788976+00:00",
        "resourceType": "User"
    },
    "name": {
        "formatted": "Daniel Mcgee",
        "familyName": "Employee",
        "givenName": "Darl",
        "honorificPrefix": null,
        "honorificSuffix": null
    },
    "phoneNumbers": [
        {
            "type": "fax",
            "primary": false,
            "value": "312-320-0500"
        },
        {
            "type": "mobile",
            "primary": false,
            "value": "312-320-1707"
        },
        {
            "type": "work",
            "primary": true,
            "value": "312-320-0932"
        }
    ],
    "preferredLanguage": "xh",
    "roles": [],
    "title": "Site engineer",
    "externalId": "22fbc523-6032-4c5f-939d-5d4850cf3e52",
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User"
    ]
}"##;

/// PostmanCollection.json: User tests with garbage › "Post emp3" (POST).
pub const PC_USER_TESTS_WITH_GARBAGE_POST_EMP3: &str = r##"{
    "userName": "emp3",
    "active": true,
    "addresses": [
        {
            "country": "Bermuda",
            "formatted": "9132 Jennifer Way Suite 040\nSouth Nancy, MI 55645",
            "locality": "West Mercedes",
            "postalCode": "99265",
            "region": "Montana",
            "streetAddress": "4939 Hess Fork",
            "type": "work",
            "primary": false
        },
        {
            "country": null,
            "formatted": "18522 Lisa Unions\nEast Gregory, CT 52311",
            "locality": null,
            "postalCode": null,
            "region": null,
            "streetAddress": null,
            "type": "other",
            "primary": false
        }
    ],
    "displayName": "Kimberly Baker",
    "emails": [
        {
            "type": "work",
            "primary": true,
            "value": "anna33@gmail.com"
        },
        {
            "type": "work",
            "primary": false,
            "value": "anna33@example.com"
        }
    ],
    "meta": {
        "created": "2019-09-18T18:15:26.5788954+00:00",
        "lastModified": "2019-09-18T18:15:26.5788976+00:00",
        "resourceType": "User"
    },
    "name": {
        "formatted": "Daniel Mcgee",
        "familyName": "Employee",
        "givenName": "Darl",
        "honorificPrefix": null,
        "honorificSuffix": null
    },
    "phoneNumbers": [
        {
            "type": "fax",
            "primary": false,
            "value": "312-320-0500"
        },
        {
            "type": "mobile",
            "primary": false,
            "value": "312-320-1707"
        },
        {
            "type": "work",
            "primary": true,
            "value": "312-320-0932"
        }
    ],
    "preferredLanguage": "xh",
    "roles": [],
    "title": "Site engineer",
    "externalId": "22fbc523-6032-4c5f-939d-5d4850cf3e52",
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User"
    ]
}"##;

/// PostmanCollection.json: User tests with garbage › "Post no username" (POST).
pub const PC_USER_TESTS_WITH_GARBAGE_POST_NO_USERNAME: &str = r##"{
    "active": true,
    "addresses": [
        {
            "country": "Bermuda",
            "formatted": "9132 Jennifer Way Suite 040\nSouth Nancy, MI 55645",
            "locality": "West Mercedes",
            "postalCode": "99265",
            "region": "Montana",
            "streetAddress": "4939 Hess Fork",
            "type": "work",
            "primary": false
        },
        {
            "country": null,
            "formatted": "18522 Lisa Unions\nEast Gregory, CT 52311",
            "locality": null,
            "postalCode": null,
            "region": null,
            "streetAddress": null,
            "type": "other",
            "primary": false
        }
    ],
    "displayName": "Kimberly Baker",
    "emails": [
        {
            "type": "work",
            "primary": true,
            "value": "anna33@gmail.com"
        },
        {
            "type": "work",
            "primary": false,
            "value": "anna33@example.com"
        }
    ],
    "meta": {
        "created": "2019-09-18T18:15:26.5788954+00:00",
        "lastModified": "2019-09-18T18:15:26.5788976+00:00",
        "resourceType": "User"
    },
    "name": {
        "formatted": "Daniel Mcgee",
        "familyName": "Employee",
        "givenName": "Darl",
        "honorificPrefix": null,
        "honorificSuffix": null
    },
    "phoneNumbers": [
        {
            "type": "fax",
            "primary": false,
            "value": "312-320-0500"
        },
        {
            "type": "mobile",
            "primary": false,
            "value": "312-320-1707"
        },
        {
            "type": "work",
            "primary": true,
            "value": "312-320-0932"
        }
    ],
    "preferredLanguage": "xh",
    "roles": [],
    "title": "Site engineer",
    "externalId": "22fbc523-6032-4c5f-939d-5d4850cf3e52",
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User"
    ]
}"##;

/// PostmanCollection.json: User tests with garbage › "Post junk" (POST).
pub const PC_USER_TESTS_WITH_GARBAGE_POST_JUNK: &str = r##"{
    "acve": tre,
    "adadfdresses": [
        {
            "coudftry": "Beruda",
            "formatted": "9132 Jennifer Way Suite 040\nSouth Nancy, MI 55645",
            "locality": "West Mercedes",
            "postalCode": "99265",
            "region": "Montana",
            "streetAddress": "4939 Hess Fork",
            "type": "work",
            "primary": false
        },
        {
            "country": null,
            "formatted": "18522 Lisa Unions\nEast Gregory, CT 52311",
            "locality": null,
          les": [],
    "title": "Site engineer",
    "externalId": "22fbc523-6032-4c5f-939d-5d4850cf3e52",
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User"
    ]
}"##;

/// PostmanCollection.json: User tests with garbage › "Post emp3 exists" (POST).
pub const PC_USER_TESTS_WITH_GARBAGE_POST_EMP3_EXISTS: &str = r##"{
    "userName": "emp3",
    "active": true,
    "addresses": [
        {
            "country": "Bermuda",
            "formatted": "9132 Jennifer Way Suite 040\nSouth Nancy, MI 55645",
            "locality": "West Mercedes",
            "postalCode": "99265",
            "region": "Montana",
            "streetAddress": "4939 Hess Fork",
            "type": "work",
            "primary": false
        },
        {
            "country": null,
            "formatted": "18522 Lisa Unions\nEast Gregory, CT 52311",
            "locality": null,
            "postalCode": null,
            "region": null,
            "streetAddress": null,
            "type": "other",
            "primary": false
        }
    ],
    "displayName": "Kimberly Baker",
    "emails": [
        {
            "type": "work",
            "primary": true,
            "value": "anna33@gmail.com"
        },
        {
            "type": "work",
            "primary": false,
            "value": "anna33@example.com"
        }
    ],
    "meta": {
        "created": "2019-09-18T18:15:26.5788954+00:00",
        "lastModified": "2019-09-18T18:15:26.5788976+00:00",
        "resourceType": "User"
    },
    "name": {
        "formatted": "Daniel Mcgee",
        "familyName": "Employee",
        "givenName": "Darl",
        "honorificPrefix": null,
        "honorificSuffix": null
    },
    "phoneNumbers": [
        {
            "type": "fax",
            "primary": false,
            "value": "312-320-0500"
        },
        {
            "type": "mobile",
            "primary": false,
            "value": "312-320-1707"
        },
        {
            "type": "work",
            "primary": true,
            "value": "312-320-0932"
        }
    ],
    "preferredLanguage": "xh",
    "roles": [],
    "title": "Site engineer",
    "externalId": "22fbc523-6032-4c5f-939d-5d4850cf3e52",
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User"
    ]
}"##;

/// PostmanCollection.json: User tests with garbage › "Post emp3 exists try again" (POST).
pub const PC_USER_TESTS_WITH_GARBAGE_POST_EMP3_EXISTS_TRY_AGAIN: &str = r##"{
    "userName": "emp3",
    "active": true,
    "addresses": [
        {
            "country": "Bermuda",
            "formatted": "9132 Jennifer Way Suite 040\nSouth Nancy, MI 55645",
            "locality": "West Mercedes",
            "postalCode": "99265",
            "region": "Montana",
            "streetAddress": "4939 Hess Fork",
            "type": "work",
            "primary": false
        },
        {
            "country": null,
            "formatted": "18522 Lisa Unions\nEast Gregory, CT 52311",
            "locality": null,
            "postalCode": null,
            "region": null,
            "streetAddress": null,
            "type": "other",
            "primary": false
        }
    ],
    "displayName": "Kimberly Baker",
    "emails": [
        {
            "type": "work",
            "primary": true,
            "value": "anna33@gmail.com"
        },
        {
            "type": "work",
            "primary": false,
            "value": "anna33@example.com"
        }
    ],
    "meta": {
        "created": "2019-09-18T18:15:26.5788954+00:00",
        "lastModified": "2019-09-18T18:15:26.5788976+00:00",
        "resourceType": "User"
    },
    "name": {
        "formatted": "Daniel Mcgee",
        "familyName": "Employee",
        "givenName": "Darl",
        "honorificPrefix": null,
        "honorificSuffix": null
    },
    "phoneNumbers": [
        {
            "type": "fax",
            "primary": false,
            "value": "312-320-0500"
        },
        {
            "type": "mobile",
            "primary": false,
            "value": "312-320-1707"
        },
        {
            "type": "work",
            "primary": true,
            "value": "312-320-0932"
        }
    ],
    "preferredLanguage": "xh",
    "roles": [],
    "title": "Site engineer",
    "externalId": "22fbc523-6032-4c5f-939d-5d4850cf3e52",
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User"
    ]
}"##;

/// PostmanCollection.json: User tests with garbage › "Put a user no username" (PUT).
pub const PC_USER_TESTS_WITH_GARBAGE_PUT_A_USER_NO_USERNAME: &str = r##"{
	"id" : "{{1stuserid}}",
    "userame": "OMalley",
    "active": false,
    "addresses": [
        {
            "country": "Germany",
            "formatted": "1923 Jennifer Way Suite 040\nSouth Nancy, MI 55645",
            "locality": "East Mercedes",
            "postalCode": "99265",
            "region": "Montana",
            "streetAddress": "4939 Hess Fork",
            "type": "work",
            "primary": false
        },
        {
            "country": "bahams",
            "formatted": "18522 Lisa Unions\nEast Gregory, CT 52311",
            "locality": null,
            "postalCode": null,
            "region": null,
            "streetAddress": null,
            "type": "other",
            "primary": false
        }
    ],
    "displayName": "Kimberly Baker",
    "emails": [
        {
            "type": "work",
            "primary": true,
            "value": "anna33@example.com"
        },
        {
            "type": "other",
            "primary": false,
            "value": "anna33@gmail.com"
        }
    ],
    "meta": {
        "created": "2019-09-18T18:15:26.5788954+00:00",
        "lastModified": "2019-09-18T18:15:26.5788976+00:00",
        "resourceType": "User"
    },
    "name": {
        "formatted": "Daniel Mcgee",
        "familyName": "OMalley",
        "givenName": "Darl",
        "honorificPrefix": null,
        "honorificSuffix": null
    },
    "phoneNumbers": [
        {
            "type": "fax",
            "primary": false,
            "value": "312-320-0500"
        },
        {
            "type": "mobile",
            "primary": false,
            "value": "312-320-1707"
        },
        {
            "type": "work",
            "primary": true,
            "value": "312-320-0932"
        }
    ],
    "preferredLanguage": "xh",
    "roles": [],
    "title": "Site engineer",
    "externalId": "22fbc523-6032-4c5f-939d-5d4850cf3e52",
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User"
    ]
}"##;

/// PostmanCollection.json: User tests with garbage › "Put a user misspelled attribute" (PUT).
pub const PC_USER_TESTS_WITH_GARBAGE_PUT_A_USER_MISSPELLED_ATTRIBUTE: &str = r##"{
	"id" : "{{1stuserid}}",
    "userName": "OMalley",
    "active": false,
    "adreses": [
        {
            "country": "Germany",
            "formatted": "1923 Jennifer Way Suite 040\nSouth Nancy, MI 55645",
            "locality": "East Mercedes",
            "postalCode": "99265",
            "region": "Montana",
            "streetAddress": "4939 Hess Fork",
            "type": "work",
            "primary": false
        },
        {
            "country": "bahams",
            "formatted": "18522 Lisa Unions\nEast Gregory, CT 52311",
            "locality": null,
            "postalCode": null,
            "region": null,
            "streetAddress": null,
            "type": "other",
            "primary": false
        }
    ],
    "displayName": "Kimberly Baker",
    "emails": [
        {
            "type": "work",
            "primary": true,
            "value": "anna33@example.com"
        },
        {
            "type": "other",
            "primary": false,
            "value": "anna33@gmail.com"
        }
    ],
    "meta": {
        "created": "2019-09-18T18:15:26.5788954+00:00",
        "lastModified": "2019-09-18T18:15:26.5788976+00:00",
        "resourceType": "User"
    },
    "name": {
        "formatted": "Daniel Mcgee",
        "familyName": "OMalley",
        "givenName": "Darl",
        "honorificPrefix": null,
        "honorificSuffix": null
    },
    "phoneNumbers": [
        {
            "type": "fax",
            "primary": false,
            "value": "312-320-0500"
        },
        {
            "type": "mobile",
            "primary": false,
            "value": "312-320-1707"
        },
        {
            "type": "work",
            "primary": true,
            "value": "312-320-0932"
        }
    ],
    "preferredLanguage": "xh",
    "roles": [],
    "title": "Site engineer",
    "externalId": "22fbc523-6032-4c5f-939d-5d4850cf3e52",
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User"
    ]
}"##;

/// PostmanCollection.json: User tests with garbage › "Post enterprise user" (POST).
pub const PC_USER_TESTS_WITH_GARBAGE_POST_ENTERPRISE_USER: &str = r##"{
    "userName": "enterprise",
    "active": true,
    "addresses": [
        {
            "country": "Bermuda",
            "formatted": "9132 Jennifer Way Suite 040\nSouth Nancy, MI 55645",
            "locality": "West Mercedes",
            "postalCode": "99265",
            "region": "Montana",
            "streetAddress": "4939 Hess Fork",
            "type": "work",
            "primary": false
        },
        {
            "country": null,
            "formatted": "18522 Lisa Unions\nEast Gregory, CT 52311",
            "locality": null,
            "postalCode": null,
            "region": null,
            "streetAddress": null,
            "type": "other",
            "primary": false
        }
    ],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
    	"Department": "some department"
    },
    "displayName": "Kimberly Baker",
    "emails": [
        {
            "type": "work",
            "primary": true,
            "value": "anna33@gmail.com"
        },
        {
            "type": "work",
            "primary": false,
            "value": "anna33@example.com"
        }
    ],
    "meta": {
        "created": "2019-09-18T18:15:26.5788954+00:00",
        "lastModified": "2019-09-18T18:15:26.5788976+00:00",
        "resourceType": "User"
    },
    "name": {
        "formatted": "Daniel Mcgee",
        "familyName": "Employee",
        "givenName": "Darl",
        "honorificPrefix": null,
        "honorificSuffix": null
    },
    "phoneNumbers": [
        {
 "type": "fax",
            "primary": false,
            "value": "312-320-0500"
        },
        {
            "type": "mobile",
            "primary": false,
            "value": "312-320-1707"
        },
        {
            "type": "work",
            "primary": true,
            "value": "312-320-0932"
        }
    ],
    "preferredLanguage": "xh",
    "roles": [],
    "title": "Site engineer",
    "externalId": "22fbc523-6032-4c5f-939d-5d4850cf3e52",
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    ]
}"##;

/// PostmanCollection.json: User tests with garbage › "Patch user omalley new username" (PATCH).
pub const PC_USER_TESTS_WITH_GARBAGE_PATCH_USER_OMALLEY_NEW_USERNAME: &str = r##"{ "schemas":
       ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
     "Operations":[
       {
        "op":"Replace",
        "path":"userName",
        "value":"newusername"
       }]
   }"##;

/// PostmanCollection.json: User tests with garbage › "patch user omalley active with boolean" (PATCH).
pub const PC_USER_TESTS_WITH_GARBAGE_PATCH_USER_OMALLEY_ACTIVE_WITH_BOOLEAN: &str = r##"{ "schemas":
       ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
     "Operations":[
       {
        "op":"Replace",
        "path":"active",
        "value": false
       }]
   }"##;

/// PostmanCollection.json: User tests with garbage › "Put a user OMalley" (PUT).
pub const PC_USER_TESTS_WITH_GARBAGE_PUT_A_USER_OMALLEY: &str = r##"{
	"id" : "{{1stuserid}}",
    "userName": "OMalley",
    "active": false,
    "addresses": [
        {
            "country": "Germany",
            "formatted": "1923 Jennifer Way Suite 040\nSouth Nancy, MI 55645",
            "locality": "East Mercedes",
            "postalCode": "99265",
            "region": "Montana",
            "streetAddress": "4939 Hess Fork",
            "type": "work",
            "primary": false
        },
        {
            "country": "bahams",
            "formatted": "18522 Lisa Unions\nEast Gregory, CT 52311",
            "locality": null,
            "postalCode": null,
            "region": null,
            "streetAddress": null,
            "type": "other",
            "primary": false
        }
    ],
    "displayName": "Kimberly Baker",
    "emails": [
        {
            "type": "work",
            "primary": true,
            "value": "anna33@example.com"
        },
        {
            "type": "other",
            "primary": false,
            "value": "anna33@gmail.com"
        }
    ],
    "meta": {
        "created": "2019-09-18T18:15:26.5788954+00:00",
        "lastModified": "2019-09-18T18:15:26.5788976+00:00",
        "resourceType": "User"
    },
    "name": {
        "formatted": "Daniel Mcgee",
        "familyName": "OMalley",
        "givenName": "Darl",
        "honorificPrefix": null,
        "honorificSuffix": null
    },
    "phoneNumbers": [
        {
            "type": "fax",
            "primary": false,
            "value": "312-320-0500"
        },
        {
            "type": "mobile",
            "primary": false,
            "value": "312-320-1707"
        },
        {
            "type": "work",
            "primary": true,
            "value": "312-320-0932"
        }
    ],
    "preferredLanguage": "xh",
    "roles": [],
    "title": "Site engineer",
    "externalId": "22fbc523-6032-4c5f-939d-5d4850cf3e52",
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User"
    ]
}"##;

/// PostmanCollection.json: Group tests with garbage › "Post group" (POST).
pub const PC_GROUP_TESTS_WITH_GARBAGE_POST_GROUP: &str = r##"{
    "displayName": "Group 1",
    "externalId": "015489ea-9410-4306-b583-9f002b2446f7",
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:Group"
    ]
}"##;

/// PostmanCollection.json: Group tests with garbage › "Group patch add member" (PATCH).
pub const PC_GROUP_TESTS_WITH_GARBAGE_GROUP_PATCH_ADD_MEMBER: &str = r##"{
	"id": "{{1stgroupid}}",
    "Operations": [
        {
         "op":"add", 
         "path": "members", 
         "value": "string id 1"
        }
    ],
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ]
}"##;

/// PostmanCollection.json: Group tests with garbage › "Group patch add member2" (PATCH).
pub const PC_GROUP_TESTS_WITH_GARBAGE_GROUP_PATCH_ADD_MEMBER2: &str = r##"{
	"id": "{{1stgroupid}}",
    "Operations": [
        {
         "op":"add", 
         "path": "members", 
         "value": "string id 2"
        }
    ],
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ]
}"##;

/// PostmanCollection.json: Group tests with garbage › "group put" (PUT).
pub const PC_GROUP_TESTS_WITH_GARBAGE_GROUP_PUT: &str = r##"{
    "id": "{{1stgroupid}}",
    "displayName": "Tiffany Ortiz",
    "externalId": "6c6b54c2-fa81-4234-ad4f-420ec6808049",
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:Group"
    ]
}"##;
