//! Webhook bodies from the wire-format reference, with real captured ones verbatim.

/// A captured raw `contact_tag_added` body, byte for byte.
pub const TAG_ADDED_CAPTURED: &str = "type=contact_tag_added&date_time=2026-07-17T22%3A01%3A25-05%3A00&initiated_from=admin&initiated_by=admin&list=0&contact%5Bid%5D=123456&contact%5Bemail%5D=robert%40example.com&contact%5Bfirst_name%5D=Robert&contact%5Blast_name%5D=&contact%5Bphone%5D=%2B1+555-010-1234&contact%5Bip%5D=127.0.0.1&contact%5Btags%5D=%5BKRC%5D+Registered+for+Challenge%2C+%5BKRC%5D+Registered+-+07%2F20%2F26%2C+%5BKRC%5D+RFC+START+-+07%2F20%2F26&contact%5Bfields%5D%5B39%5D=11111111-2222-4333-8444-555555555555&tag=%5BKRC%5D+Registered+for+Challenge";

/// Encodes decoded `key=value` lines the way ActiveCampaign does.
pub fn form(lines: &str) -> String {
    let pairs: Vec<(String, String)> = lines
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once('=').expect("key=value");
            (k.to_owned(), v.to_owned())
        })
        .collect();
    acmirror::webhook::decode::encode(&pairs)
}

/// The GearPlug `subscribe` fixture (2017).
pub const SUBSCRIBE: &str = "type=subscribe
date_time=2017-11-24T08:50:26-06:00
initiated_from=admin
initiated_by=admin
list=1
contact[id]=10
contact[email]=lrubianotest@grplug.com
contact[first_name]=Lelia2
contact[last_name]=Rubiano
contact[phone]=
contact[ip]=0.0.0.0
contact[tags]=
contact[orgname]=
orgname=";

/// The GearPlug `unsubscribe` fixture (2017).
pub const UNSUBSCRIBE: &str = "type=unsubscribe
date_time=2017-11-24T09:33:27-06:00
initiated_from=admin
initiated_by=admin
list=1
account_id=474042
contact[id]=10
contact[email]=lrubianotest@grplug.com
contact[first_name]=Lelia2
contact[last_name]=Rubiano
contact[phone]=
contact[ip]=0.0.0.0
contact[tags]=
contact[orgname]=
orgname=";

/// An `update` reconstructed from the 2023/2024 samples.
pub const UPDATE: &str = "type=update
date_time=2024-02-28T07:16:48-06:00
initiated_from=admin
initiated_by=admin
list=0
contact[id]=3
contact[email]=code.test@gmail.com
contact[first_name]=John
contact[last_name]=Wick
contact[phone]=
contact[ip]=0.0.0.0
contact[tags]=tag1, tag2
contact[fields][1]=Option 1
contact[fields][2]=||Option 1||Option 2||
contact[customer_acct_name]=
contact[orgname]=
customer_acct_name=
customer_acct_id=0
orgname=";

/// The GearPlug `deal_add` fixture (2017).
pub const DEAL_ADD: &str = "type=deal_add
date_time=2017-11-24T10:06:22-06:00
initiated_from=admin
initiated_by=admin
list=0
orgname=
contact[id]=9
contact[email]=lrubiano@grplug.com
contact[first_name]=Lelia
contact[last_name]=Rubiano
contact[phone]=
contact[ip]=0.0.0.0
contact[tags]=
contact[orgname]=
deal[id]=1
deal[title]=deal1
deal[create_date]=2017-11-24 10:06:22
deal[create_date_iso]=2017-11-24T10:06:22-06:00
deal[orgid]=0
deal[orgname]=
deal[stageid]=1
deal[stage_title]=To Contact
deal[pipelineid]=1
deal[pipeline_title]=my_pipeline
deal[value]=100.00
deal[value_raw]=100
deal[currency]=usd
deal[currency_symbol]=$
deal[owner]=1
deal[owner_firstname]=TestGearplug
deal[owner_lastname]=
deal[contactid]=9
deal[contact_email]=lrubiano@grplug.com
deal[contact_firstname]=Lelia
deal[contact_lastname]=Rubiano
deal[status]=0";

/// The activepieces `deal_note_add` sample (2024): no contact block.
pub const DEAL_NOTE_ADD: &str = "type=deal_note_add
date_time=2024-02-28T05:58:27-06:00
initiated_from=admin
initiated_by=admin
list=0
note[id]=1
note[text]=Tst node
deal[id]=1
deal[title]=Test Deal updated
deal[create_date]=2024-02-28 04:36:09
deal[create_date_iso]=2024-02-28T04:36:09-06:00
deal[orgid]=1
deal[orgname]=John wick
deal[stageid]=1
deal[stage_title]=To Contact
deal[pipelineid]=1
deal[pipeline_title]=Test Pipeline
deal[value]=14,055.00
deal[value_raw]=14055
deal[currency]=usd
deal[currency_symbol]=$
deal[owner]=1
deal[owner_firstname]=John
deal[owner_lastname]=wick
deal[contactid]=3
deal[contact_email]=code.test@gmail.com
deal[contact_firstname]=John
deal[contact_lastname]=wick
deal[status]=0
deal[fields][0][id]=1
deal[fields][0][key]=Forecasted Close Date
deal[fields][0][value]=2024-02-08 00:00:00";

/// The GearPlug `deal_task_add` fixture (2017).
pub const DEAL_TASK_ADD: &str = "type=deal_task_add
date_time=2017-11-24T10:09:32-06:00
initiated_from=admin
initiated_by=admin
list=0
contact[id]=9
contact[email]=lrubiano@grplug.com
contact[first_name]=Lelia
contact[last_name]=Rubiano
contact[phone]=
contact[ip]=0.0.0.0
contact[tags]=
deal[id]=1
deal[title]=deal1
deal[create_date_iso]=2017-11-24T10:06:22-06:00
deal[stageid]=1
deal[stage_title]=To Contact
deal[pipelineid]=1
deal[pipeline_title]=my_pipeline
deal[value_raw]=100
deal[currency]=usd
deal[owner]=1
deal[contactid]=9
deal[status]=0
task[id]=1
task[type_id]=1
task[type_title]=Call
task[title]=
task[note]=task1
task[duedate]=2017-11-25 11:00:00
task[duedate_iso]=2017-11-25T11:00:00-06:00
task[edate]=2017-11-25 11:15:00
task[edate_iso]=2017-11-25T11:15:00-06:00";

/// The activepieces `subscriber_note` sample (2024).
pub const SUBSCRIBER_NOTE: &str = "type=subscriber_note
date_time=2024-02-28T06:58:11-06:00
initiated_from=admin
initiated_by=admin
list=0
note=test note
contact[id]=3
contact[email]=code.test@gmail.com
contact[first_name]=john
contact[last_name]=wick
contact[phone]=
contact[ip]=0.0.0.0
contact[tags]=1233";

/// The `list_add` reconstruction: a scalar `list` beside the `list[...]` object.
pub const LIST_ADD: &str = "type=list_add
date_time=2024-03-01T08:00:00-06:00
initiated_from=admin
initiated_by=admin
list=0
list[id]=4
list[userid]=1
list[name]=Webinar attendees
list[sender_city]=Chicago";

/// The `click` reconstruction (reference §4.15).
pub const CLICK: &str = "type=click
date_time=2024-03-01T09:15:02-05:00
initiated_from=public
initiated_by=public
list=1
campaign[id]=12
campaign[name]=March newsletter
campaign[type]=single
campaign[status]=5
campaign[message][id]=14
campaign[message][subject]=What's new in March
contact[id]=3
contact[email]=code.test@gmail.com
contact[first_name]=John
contact[last_name]=Wick
contact[phone]=
contact[ip]=203.0.113.7
contact[tags]=tag1, tag2
link[id]=55
link[url]=https://example.com/pricing";

/// The `bounce` reconstruction (reference §4.14).
pub const BOUNCE: &str = "type=bounce
date_time=2024-03-01T09:12:44-06:00
initiated_from=system
initiated_by=system
list=1
campaign[id]=12
contact[id]=3
contact[email]=bad@example.com
contact[first_name]=
contact[last_name]=
contact[phone]=
contact[ip]=0.0.0.0
contact[tags]=
bounce[type]=hard
bounce[code]=5.1.1
bounce[description]=Mailbox does not exist";

/// The `sent` reconstruction (reference §4.17): no contact block.
pub const SENT: &str = "type=sent
date_time=2024-03-01T08:00:00-06:00
initiated_from=admin
initiated_by=admin
list=1
campaign[id]=12
campaign[name]=March newsletter
campaign[type]=single
campaign[status]=1
campaign[recipients]=2450
campaign[webcopy_url]=https://youraccount.activehosted.com/index.php?action=social&c=12.14";

/// The `sms_reply` fields from production code (reference §4.22).
pub const SMS_REPLY: &str = "type=sms_reply
date_time=2024-03-01T10:00:00-06:00
initiated_from=public
initiated_by=public
list=0
contact[id]=3
contact[email]=code.test@gmail.com
contact[first_name]=John
contact[last_name]=Wick
contact[phone]=+15555555555
contact[ip]=0.0.0.0
contact[tags]=tag1, tag2
contact[orgname]=
sms[id]=981
sms[reply]=Yes please
sms[result]=forward";

/// `account_add` as activepieces recorded it (2024, parsed; wire keys as the reference gives
/// them): naive `*_timestamp`s, positional custom fields, one without an id (a built-in field)
/// and a multi-value one sent as `[value][M]`.
pub const ACCOUNT_ADD: &str = "type=account_add
date_time=2024-02-28T01:09:17-06:00
initiated_from=admin
initiated_by=admin
account[id]=7
account[name]=Acme Integration Co
account[account_url]=https://acme.example
account[created_timestamp]=2024-02-28 01:09:17
account[updated_timestamp]=2024-02-28 01:09:17
account[fields][0][id]=1
account[fields][0][key]=Industry
account[fields][0][value]=Software
account[fields][1][key]=Phone Number
account[fields][1][value]=+1 555-0100
account[fields][2][id]=3
account[fields][2][key]=Regions
account[fields][2][value][0]=EMEA
account[fields][2][value][1]=APAC";

/// `account_update` of the same account, later, with `updated_fields`.
pub const ACCOUNT_UPDATE: &str = "type=account_update
date_time=2024-02-28T02:10:00-06:00
initiated_from=admin
initiated_by=admin
account[id]=7
account[name]=Acme Integration Company
account[account_url]=
account[created_timestamp]=2024-02-28 01:09:17
account[updated_timestamp]=2024-02-28 02:10:00
account[fields][0][id]=1
account[fields][0][key]=Industry
account[fields][0][value]=Retail
updated_fields[0]=name";

/// `account_contact_add` with the AsyncAPI's `accountContact[...]` keys.
pub const ACCOUNT_CONTACT_ADD: &str = "type=account_contact_add
date_time=2024-02-28T01:20:00-06:00
initiated_from=admin
initiated_by=admin
accountContact[id]=17
accountContact[account]=7
accountContact[contact]=3
accountContact[job_title]=Product Manager";

/// `account_contact_update` with the gem's `account_contact[...]` keys.
pub const ACCOUNT_CONTACT_UPDATE: &str = "type=account_contact_update
date_time=2024-02-28T03:00:00-06:00
initiated_from=admin
initiated_by=admin
account_contact[id]=17
account_contact[account]=7
account_contact[contact]=3
account_contact[job_title]=Head of Product";

/// `deal_update` in the activepieces 2024 shape: an account (`deal[orgid]`) and positional
/// custom fields (`deal[fields][N][id|key|value]`).
pub const DEAL_UPDATE_FIELDS: &str = "type=deal_update
date_time=2024-02-08T10:00:00-06:00
initiated_from=admin
initiated_by=admin
list=0
customer_acct_name=Acme Integration Co
customer_acct_id=7
deal[id]=14
deal[title]=Renewal
deal[create_date]=2024-02-01 09:00:00
deal[create_date_iso]=2024-02-01T09:00:00-06:00
deal[orgid]=7
deal[orgname]=Acme Integration Co
deal[stageid]=1
deal[stage_title]=To Contact
deal[pipelineid]=1
deal[pipeline_title]=my_pipeline
deal[value]=1,044,055.00
deal[value_raw]=1044055
deal[currency]=usd
deal[currency_symbol]=$
deal[owner]=1
deal[owner_firstname]=Alex
deal[owner_lastname]=Admin
deal[contactid]=3
deal[contact_email]=code.test@gmail.com
deal[contact_firstname]=john
deal[contact_lastname]=wick
deal[status]=1
deal[fields][0][id]=1
deal[fields][0][key]=Forecasted Close Date
deal[fields][0][value]=2024-02-08 00:00:00
deal[fields][1][id]=2
deal[fields][1][key]=Lead Source
deal[fields][1][value]=
updated_fields[0]=value";
